"""Receive Fireflies webhook deliveries: verify the signature, parse the body, store it.

Fireflies signs each delivery with the webhook secret (a Hex Key): the
``X-Hub-Signature`` header holds the HMAC-SHA256 of the raw body as hex, sometimes with
a ``sha256=`` prefix. Two body formats exist:

- V1: ``{"meetingId", "eventType", "clientReferenceId"}``
- V2: ``{"event", "timestamp" (milliseconds), "meeting_id", "client_reference_id"}``
"""

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

import clock
import token_service
from extensions import db
from models import ApiToken, Meeting, WebhookDelivery, Workspace, Membership

log = logging.getLogger(__name__)

SIGNATURE_PATTERN = re.compile(r"(?:sha256=)?([0-9a-fA-F]{64})")
# How far a V2 timestamp may lie in the future, for clocks that differ.
FUTURE_ALLOWANCE = timedelta(minutes=5)
MAX_ID_LENGTH = 200
MAX_EVENT_LENGTH = 100


class DeliveryRejected(Exception):
    """A delivery was not accepted. ``status`` is the HTTP status to answer with."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass
class Delivery:
    meeting_id: str
    event: str
    payload_version: int
    client_reference_id: Optional[str] = None
    event_timestamp: Optional[datetime] = None


@dataclass
class Receipt:
    # "accepted" for a new delivery, "duplicate" for a repeat of a stored one.
    outcome: str
    meeting: Meeting


def receive(endpoint_id, body, signature_header):
    """Verify and store one delivery to the webhook URL ``endpoint_id``.

    Return a Receipt, or raise DeliveryRejected; a rejected delivery stores nothing.
    """
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.endpoint_id == endpoint_id, ApiToken.kind == "hex")
    )
    if token is None:
        raise DeliveryRejected(404, "unknown_webhook", "No webhook exists at this URL.")

    verify_signature(token, body, signature_header)

    status = token.status()
    if status != "active":
        raise DeliveryRejected(
            401, f"key_{status}",
            f"The Hex Key of this webhook has {'been revoked' if status == 'revoked' else 'expired'}. "
            "Create a new Hex Key and update the webhook secret in Fireflies.",
        )

    delivery = parse_body(body)
    if not _is_fresh(delivery) and not _already_stored(token, delivery):
        raise DeliveryRejected(
            422, "stale_delivery",
            f"The delivery's timestamp is more than {current_app.config['WEBHOOK_MAX_AGE']} seconds old "
            "or too far in the future.",
        )
    receipt = store(token, delivery, body)
    log.info("Webhook delivery %s: token=%s meeting=%s event=%r",
             receipt.outcome, token.id, delivery.meeting_id, delivery.event)
    return receipt


def _is_fresh(delivery):
    """Return False for a V2 delivery whose timestamp is outside the replay window."""
    if delivery.event_timestamp is None:
        return True
    now = clock.utcnow()
    oldest = now - timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    return oldest <= delivery.event_timestamp <= now + FUTURE_ALLOWANCE


def _already_stored(token, delivery):
    """Return True if this event for this meeting was accepted before, whatever its age."""
    return db.session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.user_id == token.user_id,
            WebhookDelivery.fireflies_meeting_id == delivery.meeting_id,
            WebhookDelivery.event == delivery.event,
        )
    ) is not None


def sign(secret, body):
    """Return the hex HMAC-SHA256 of ``body`` under ``secret``, as Fireflies computes it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(token, body, signature_header):
    if not signature_header or not signature_header.strip():
        raise DeliveryRejected(401, "missing_signature", "The X-Hub-Signature header is missing.")

    match = SIGNATURE_PATTERN.fullmatch(signature_header.strip())
    secret = token_service.webhook_secret(token)
    expected = sign(secret, body).encode()
    # Compare even a malformed header, so the time taken does not depend on its shape.
    presented = match.group(1).lower().encode() if match else b"\x00" * len(expected)
    if not secret or not hmac.compare_digest(expected, presented) or match is None:
        raise DeliveryRejected(
            401, "signature_mismatch",
            "The signature does not match the body. Check that the webhook secret in "
            "Fireflies is this Hex Key.",
        )


def parse_body(body):
    """Parse a V1 or V2 delivery body, or raise DeliveryRejected with 422."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeliveryRejected(422, "malformed_body", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise DeliveryRejected(422, "malformed_body", "The body must be a JSON object.")

    if "meeting_id" in data:
        delivery = Delivery(
            meeting_id=_required_string(data, "meeting_id", MAX_ID_LENGTH),
            event=_required_string(data, "event", MAX_EVENT_LENGTH),
            client_reference_id=_optional_string(data, "client_reference_id"),
            event_timestamp=_timestamp(data.get("timestamp")),
            payload_version=2,
        )
    elif "meetingId" in data:
        delivery = Delivery(
            meeting_id=_required_string(data, "meetingId", MAX_ID_LENGTH),
            event=_required_string(data, "eventType", MAX_EVENT_LENGTH),
            client_reference_id=_optional_string(data, "clientReferenceId"),
            payload_version=1,
        )
    else:
        raise DeliveryRejected(
            422, "malformed_body",
            "The body has neither 'meeting_id' (V2 format) nor 'meetingId' (V1 format).",
        )
    return delivery


def _required_string(data, field, max_length):
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DeliveryRejected(422, "malformed_body", f"'{field}' must be a non-empty string.")
    if len(value) > max_length or "\x00" in value:
        raise DeliveryRejected(
            422, "malformed_body", f"'{field}' must be at most {max_length} characters without NUL."
        )
    return value.strip()


def _optional_string(data, field):
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise DeliveryRejected(
            422, "malformed_body", f"'{field}' must be a string of at most {MAX_ID_LENGTH} characters."
        )
    return value


def _timestamp(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DeliveryRejected(422, "malformed_body", "'timestamp' must be a number of milliseconds.")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise DeliveryRejected(422, "malformed_body", "'timestamp' is out of range.") from None


def _insert_ignoring_conflict(model, values, conflict_columns):
    """Insert one row unless it conflicts on ``conflict_columns``; return True if inserted."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns).returning(model.id)
    )
    # RETURNING tells an insert from a conflict on every driver; psycopg reports rowcount -1 here.
    return db.session.execute(statement).scalar() is not None


def store(token, delivery, body):
    """Store the delivery and its meeting in one transaction, once per event and meeting."""
    workspace_id = db.session.scalar(
        select(Workspace.id)
        .join(Membership)
        .where(Membership.user_id == token.user_id, Workspace.personal.is_(True))
    )
    _insert_ignoring_conflict(
        Meeting,
        {
            "user_id": token.user_id,
            "workspace_id": workspace_id,
            "fireflies_meeting_id": delivery.meeting_id,
            "client_reference_id": delivery.client_reference_id,
        },
        ["user_id", "fireflies_meeting_id"],
    )
    meeting = db.session.scalar(
        select(Meeting).where(
            Meeting.user_id == token.user_id, Meeting.fireflies_meeting_id == delivery.meeting_id
        )
    )
    inserted = _insert_ignoring_conflict(
        WebhookDelivery,
        {
            "user_id": token.user_id,
            "token_id": token.id,
            "meeting_id": meeting.id,
            "fireflies_meeting_id": delivery.meeting_id,
            "event": delivery.event,
            "payload_version": delivery.payload_version,
            "event_timestamp": delivery.event_timestamp,
            "body": body,
        },
        ["user_id", "fireflies_meeting_id", "event"],
    )
    db.session.commit()
    return Receipt(outcome="accepted" if inserted else "duplicate", meeting=meeting)
