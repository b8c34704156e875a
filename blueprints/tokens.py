"""The Tokens page: create a token and copy it once, list tokens, revoke them."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import clock
import token_service
from blueprints.htmx import render_page_or_fragment
from forms import CreateTokenForm
from models import MAX_ID, ApiToken
from rate_limits import configured, limiter, user_key

bp = Blueprint("tokens", __name__)


@bp.before_request
@login_required
def require_login():
    """Every page of this blueprint needs a signed-in user."""


@bp.get("/")
def home():
    return redirect(url_for("tokens.index"))


@bp.get("/tokens")
def index():
    before_id = request.args.get("before", type=int)
    if before_id is not None and not 0 < before_id <= MAX_ID:
        before_id = None
    return _render_page(CreateTokenForm(formdata=None), before_id=before_id)


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
    context = _page_context(CreateTokenForm(formdata=None), issued=issued)
    body, status = render_page_or_fragment("tokens/index.html", "tokens/_created.html", status=201, **context)
    # The body carries the token value, which must not stay in any cache or history.
    return body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"}


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


def _owned_token_or_404(token_id):
    token = ApiToken.owned_by(current_user.id, token_id)
    if token is None or token.revoked_at is not None:
        abort(404, "No such token. It may have been revoked already.")
    return token


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
