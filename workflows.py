"""Workflows: what each of the user's integrations needs, computed from its linked token.

A workflow is linked to one token, chosen on the Workflows page or, for Fireflies, taken
from the webhook URL that received its latest delivery. Its status is computed when asked,
so it is right the minute a token expires.
"""

import logging
from dataclasses import dataclass, field
from typing import Optional

from flask import url_for
from sqlalchemy import select

import clock
import delivery_log
import integrations
from extensions import db
from models import ApiToken, WebhookAttempt, WebhookDelivery, Workflow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Definition:
    kind: str
    title: str
    token_kind: str
    description: str


DEFINITIONS = (
    Definition("fireflies", "Fireflies meeting capture", "hex",
               "Fireflies posts each transcribed meeting to the webhook URL of a Hex Key, and Exponential "
               "fetches the transcript with your Fireflies API key."),
    Definition("extension", "Browser extension capture", "jwt",
               "The browser extension sends actions from any website with a JWT Token."),
    Definition("api", "Custom API access", "jwt",
               "Your apps and scripts call the API with a JWT Token as a Bearer token."),
)
BY_KIND = {definition.kind: definition for definition in DEFINITIONS}


@dataclass
class Fix:
    label: str
    url: str


@dataclass
class Reason:
    text: str
    fix: Optional[Fix] = None


@dataclass
class Card:
    definition: Definition
    # "active", "expiring" or "setup_required".
    status: str
    token: Optional[ApiToken]
    # "setup" when chosen on the Workflows page, "deliveries" when taken from a webhook URL.
    linked_from: Optional[str]
    reasons: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    last_entry: Optional[WebhookAttempt] = None
    choices: list = field(default_factory=list)

    @property
    def status_label(self):
        return {"active": "Active", "expiring": "Expiring soon", "setup_required": "Setup Required"}[self.status]


class WorkflowError(ValueError):
    """A workflow cannot be linked to the chosen token."""


def cards_for(user_id, now=None):
    """Return one Card per workflow for the user, in the order of DEFINITIONS."""
    now = now or clock.utcnow()
    links = {row.kind: row for row in db.session.scalars(select(Workflow).where(Workflow.user_id == user_id))}
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    ).all()
    return [_card(definition, user_id, links.get(definition.kind), tokens, now) for definition in DEFINITIONS]


def link(user_id, kind, token_id):
    """Link the user's workflow ``kind`` to their token ``token_id``, or raise WorkflowError."""
    definition = BY_KIND.get(kind)
    if definition is None:
        raise WorkflowError(f"Unknown workflow {kind!r}; expected one of {', '.join(BY_KIND)}.")
    token = ApiToken.owned_by(user_id, token_id) if token_id is not None else None
    if token is None or token.revoked_at is not None or token.kind != definition.token_kind:
        kind_name = "Hex Key" if definition.token_kind == "hex" else "JWT Token"
        raise WorkflowError(f"Choose one of your {kind_name}s that is not revoked.")

    workflow = db.session.scalar(select(Workflow).where(Workflow.user_id == user_id, Workflow.kind == kind))
    if workflow is None:
        workflow = Workflow(user_id=user_id, kind=kind)
        db.session.add(workflow)
    workflow.token_id = token.id
    db.session.commit()
    log.info("Workflow linked: user=%s workflow=%s token=%s", user_id, kind, token.id)
    return workflow


def move_links(user_id, old_token_id, new_token_id):
    """Point every workflow of the user that uses the old token at the new one; return how many."""
    workflows = db.session.scalars(
        select(Workflow).where(Workflow.user_id == user_id, Workflow.token_id == old_token_id)
    ).all()
    for workflow in workflows:
        workflow.token_id = new_token_id
    moved = len(workflows)
    has_fireflies_link = any(workflow.kind == "fireflies" for workflow in workflows) or db.session.scalar(
        select(Workflow.id).where(Workflow.user_id == user_id, Workflow.kind == "fireflies")
    )
    # A Fireflies workflow taken from its deliveries has no row yet: give it one.
    if not has_fireflies_link and _token_of_latest_delivery(user_id) == old_token_id:
        db.session.add(Workflow(user_id=user_id, kind="fireflies", token_id=new_token_id))
        moved += 1
    db.session.commit()
    if moved:
        log.info("Workflow links moved: user=%s from token=%s to token=%s", user_id, old_token_id, new_token_id)
    return moved


def _token_of_latest_delivery(user_id):
    """Return the id of the Hex Key whose webhook URL received the user's latest request."""
    attempt = db.session.scalar(
        select(WebhookAttempt.token_id)
        .where(WebhookAttempt.user_id == user_id, WebhookAttempt.is_test.is_(False))
        .order_by(WebhookAttempt.last_at.desc(), WebhookAttempt.id.desc())
        .limit(1)
    )
    if attempt is not None:
        return attempt
    return db.session.scalar(
        select(WebhookDelivery.token_id)
        .where(WebhookDelivery.user_id == user_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    )


def _card(definition, user_id, workflow, tokens, now):
    token_by_id = {token.id: token for token in tokens}
    token, linked_from = None, None
    if workflow is not None and workflow.token_id in token_by_id:
        token, linked_from = token_by_id[workflow.token_id], "setup"
    elif definition.kind == "fireflies":
        token = token_by_id.get(_token_of_latest_delivery(user_id))
        linked_from = "deliveries" if token is not None else None

    card = Card(
        definition=definition, status="active", token=token, linked_from=linked_from,
        choices=[t for t in tokens if t.kind == definition.token_kind and t.revoked_at is None],
    )
    _check_token(card, now)
    if definition.kind == "fireflies":
        _check_fireflies_key(card, user_id)
        _check_deliveries(card, now)
    else:
        _check_requests(card, now)

    if card.reasons:
        card.status = "setup_required"
    elif token is not None and token.display_status(now) == "expiring":
        card.status = "expiring"
    return card


def _check_token(card, now):
    kind_name = "Hex Key" if card.definition.token_kind == "hex" else "JWT Token"
    token = card.token
    if token is None:
        card.reasons.append(Reason(
            f"No {kind_name} is linked to this workflow.",
            Fix(f"Choose a {kind_name}", f"#link-{card.definition.kind}")
            if card.choices else Fix(f"Create a {kind_name}", url_for("tokens.index", kind=card.definition.token_kind)),
        ))
        return

    similar = Fix("Create a similar token", url_for("tokens.index", similar=token.id))
    status = token.display_status(now)
    if status == "revoked":
        card.reasons.append(Reason(
            f"The linked {kind_name} \u201c{token.name}\u201d was revoked on {_day(token.revoked_at)}.", similar))
    elif status == "expired":
        card.reasons.append(Reason(
            f"The linked {kind_name} \u201c{token.name}\u201d expired on {_day(token.expires_at)}.", similar))
    elif status == "expiring":
        card.notes.append(Reason(
            f"The linked {kind_name} \u201c{token.name}\u201d expires on {_day(token.expires_at)}. "
            "A token cannot be extended, so create a similar one and put it in place.", similar))


def _check_fireflies_key(card, user_id):
    credential = integrations.credential_for(user_id)
    integrations_url = url_for("integrations.index")
    if credential is None:
        card.reasons.append(Reason("No Fireflies API key is saved, so transcripts cannot be fetched.",
                                   Fix("Save your Fireflies API key", integrations_url)))
    elif credential.last_test_ok is False:
        card.reasons.append(Reason(
            f"The last test of your Fireflies API key failed: {credential.last_test_error or 'no details'}",
            Fix("Replace or test the key", integrations_url)))


def _check_deliveries(card, now):
    if card.token is None:
        return
    details = Fix("Open the delivery log", url_for("tokens.detail", token_id=card.token.id))
    entry = delivery_log.last_real_entry(card.token.id)
    card.last_entry = entry
    if entry is None:
        card.reasons.append(Reason(
            "No delivery has arrived yet. Put the webhook URL and this Hex Key in Fireflies' developer "
            "settings, then send a test delivery.", details))
    elif entry.verdict == "rejected":
        card.reasons.append(Reason(
            f"Last delivery {_ago(entry.last_at, now)} was rejected: {delivery_log.reason_text(entry.reason)}.",
            details))
    else:
        card.notes.append(Reason(f"Last delivery {_ago(entry.last_at, now)}: {entry.verdict}.", details))


def _check_requests(card, now):
    token = card.token
    if token is None or token.status(now) != "active":
        return
    if token.last_used_at is None:
        card.reasons.append(Reason("No request has used this token yet.",
                                   Fix("How to call the API", url_for("docs.api"))))
    else:
        card.notes.append(Reason(f"Last used {_ago(token.last_used_at, now)} from {token.last_used_ip or 'an unknown address'}."))


def _day(moment):
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _ago(moment, now):
    """Return a rough age such as "3 minutes ago"."""
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
