"""The Tokens page: create a token and copy it once, list tokens, revoke them, and try a webhook."""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import clock
import delivery_log
import fireflies_webhooks
import token_service
import workflows
from blueprints.htmx import render_page_or_fragment
from extensions import db
from forms import CreateTokenForm
from models import MAX_ID, ApiToken, TokenEvent
from rate_limits import configured, limiter, user_key

bp = Blueprint("tokens", __name__)

EVENT_LABELS = {
    "created": "Created",
    "revoked": "Revoked",
    "first_used": "First used",
    "rejected_expired": "Request rejected: the token had expired",
    "rejected_revoked": "Request rejected: the token was revoked",
}


@bp.before_request
@login_required
def require_login():
    """Require a signed-in user on every page of this blueprint."""


@bp.get("/")
def home():
    return redirect(url_for("tokens.index"))


@bp.get("/tokens")
def index():
    before_id = request.args.get("before", type=int)
    if before_id is not None and not 0 < before_id <= MAX_ID:
        before_id = None
    return _render_page(_prefilled_form(), before_id=before_id)


@bp.get("/tokens/activity")
def activity():
    events = db.session.execute(
        select(TokenEvent, ApiToken)
        .join(ApiToken, ApiToken.id == TokenEvent.token_id)
        .where(TokenEvent.user_id == current_user.id)
        .order_by(TokenEvent.id.desc())
        .limit(100)
    ).all()
    return render_template("tokens/activity.html", events=events, event_labels=EVENT_LABELS)


def _prefilled_form():
    """Return the create form, filled from ``?similar=<token id>`` or with ``?kind=`` chosen."""
    similar = request.args.get("similar", type=int)
    token = ApiToken.owned_by(current_user.id, similar) if similar is not None else None
    if token is not None:
        return CreateTokenForm(
            formdata=None, name=token.name, kind=token.kind, description=token.description,
            expires_in=token_service.closest_lifetime(token), replaces=str(token.id),
        )
    kind = request.args.get("kind")
    if kind in token_service.KIND_LABELS:
        return CreateTokenForm(formdata=None, kind=kind)
    return CreateTokenForm(formdata=None)


@bp.post("/tokens")
@limiter.limit(configured("TOKEN_CREATE_RATE_LIMIT"), key_func=user_key,
               error_message="You have created many tokens in a short time. Wait a while and try again.")
def create():
    form = CreateTokenForm()
    if not form.validate():
        return render_page_or_fragment(
            "tokens/index.html", "tokens/_create_form.html", status=422,
            **_page_context(form),
        )

    issued = token_service.create_token(
        current_user,
        name=form.name.data,
        kind=form.kind.data,
        lifetime=form.expires_in.data,
        description=form.description.data or "",
    )
    replaced, moved = _replace(form.replaces.data, issued.token)
    context = _page_context(CreateTokenForm(formdata=None), issued=issued)
    context.update(replaced=replaced, moved_links=moved)
    body, status = render_page_or_fragment("tokens/index.html", "tokens/_created.html", status=201, **context)
    # The body carries the token value, which must not stay in any cache or history.
    return body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.get("/tokens/<int:token_id>")
def detail(token_id):
    token = _owned_token_or_404(token_id, include_revoked=True)
    return render_template("tokens/detail.html", **_detail_context(token))


@bp.post("/tokens/<int:token_id>/test-delivery")
def test_delivery(token_id):
    """Run a signed sample delivery through the receiver, logged as a test; no meeting is stored."""
    token = _owned_token_or_404(token_id)
    if token.kind != "hex":
        abort(404, "Only a Hex Key has a webhook URL to test.")

    body, signature = fireflies_webhooks.sample_delivery(
        token_service.webhook_secret(token), f"test-{secrets.token_hex(4)}"
    )
    try:
        fireflies_webhooks.receive(token.endpoint_id, body, signature, source_ip=request.remote_addr, test=True)
    except fireflies_webhooks.DeliveryRejected as rejection:
        result = {"ok": False, "message": f"The receiver rejected the test delivery: {rejection.message}"}
    else:
        result = {"ok": True, "message": "The receiver accepted the test delivery. No meeting was stored."}
    return render_template("tokens/detail.html", **_detail_context(token, test_result=result))


@bp.delete("/tokens/<int:token_id>")
def revoke(token_id):
    token = _owned_token_or_404(token_id)
    token_service.revoke_token(token)
    return render_template("tokens/_revoked.html", token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
def confirm_revoke(token_id):
    """Confirm and revoke without JavaScript: the trash icon falls back to this page."""
    token = _owned_token_or_404(token_id)
    if request.method == "GET":
        return render_template("tokens/confirm_revoke.html", token=token)

    token_service.revoke_token(token)
    flash(f"Token \u201c{token.name}\u201d was revoked. Requests that use it are now rejected.", "success")
    return redirect(url_for("tokens.index"), 303)


def _replace(replaces, new_token):
    """Move the workflows of the token that ``new_token`` replaces to it; return (old token, moved count)."""
    if not (replaces or "").isdigit():
        return None, 0
    old = ApiToken.owned_by(current_user.id, int(replaces))
    if old is None or old.id == new_token.id:
        return None, 0
    return old, workflows.move_links(current_user.id, old.id, new_token.id)


def _owned_token_or_404(token_id, include_revoked=False):
    token = ApiToken.owned_by(current_user.id, token_id)
    if token is None or (token.revoked_at is not None and not include_revoked):
        abort(404, "No such token. It may have been revoked already.")
    return token


def _detail_context(token, test_result=None):
    return {
        "token": token,
        "now": clock.utcnow(),
        "entries": delivery_log.entries_for_token(token.id) if token.kind == "hex" else [],
        "reason_text": delivery_log.reason_text,
        "webhook_url": token_service.webhook_url,
        "test_result": test_result,
        "curl_command": _curl_command(token) if token.kind == "hex" and token.status() == "active" else None,
    }


def _curl_command(token):
    """Return a curl command that posts a correctly signed sample delivery to the token's webhook URL.

    It contains the body and its signature, never the Hex Key.
    """
    body, signature = fireflies_webhooks.sample_delivery(
        token_service.webhook_secret(token), f"sample-{secrets.token_hex(4)}"
    )
    return (
        f"curl -X POST '{token_service.webhook_url(token)}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-Hub-Signature: {signature}' \\\n"
        f"  --data-raw '{body.decode()}'"
    )


def _page_context(form, issued=None, before_id=None):
    tokens, next_before = token_service.find_user_tokens(current_user, before_id=before_id)
    return {
        "form": form,
        "tokens": tokens,
        "next_before": next_before,
        "before_id": before_id,
        "issued": issued,
        "now": clock.utcnow(),
        "webhook_url": token_service.webhook_url,
    }


def _render_page(form, before_id=None):
    return render_template("tokens/index.html", **_page_context(form, before_id=before_id))
