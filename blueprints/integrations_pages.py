"""The Integrations page: the user's own Fireflies API key, saved encrypted and tested."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import integrations

bp = Blueprint("integrations", __name__)


@bp.before_request
@login_required
def require_login():
    """Require a signed-in user on every page of this blueprint."""


def _render(error=None, status=200):
    credential = integrations.credential_for(current_user.id)
    return render_template("integrations/index.html", credential=credential, error=error), status


@bp.get("/integrations")
def index():
    return _render()


@bp.post("/integrations/fireflies")
def save_fireflies_key():
    try:
        integrations.save_fireflies_key(current_user.id, request.form.get("api_key", ""))
    except ValueError as error:
        return _render(error=str(error), status=422)
    flash("Fireflies API key saved. Test it to check that Fireflies accepts it.", "success")
    return redirect(url_for("integrations.index"), 303)


@bp.post("/integrations/fireflies/test")
def check_fireflies_key():
    try:
        credential = integrations.check_fireflies_key(current_user.id)
    except LookupError as error:
        return _render(error=str(error), status=422)
    if credential.last_test_ok:
        flash("Fireflies accepted the key.", "success")
    else:
        flash(f"The key did not work: {credential.last_test_error}", "error")
    return redirect(url_for("integrations.index"), 303)


@bp.post("/integrations/fireflies/delete")
def remove_fireflies_key():
    integrations.remove_fireflies_key(current_user.id)
    flash("Fireflies API key removed. Meetings are no longer fetched until you save a key again.", "success")
    return redirect(url_for("integrations.index"), 303)
