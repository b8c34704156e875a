"""The Workflows page: the status of each integration, every reason it needs setup, and its fix."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import workflows

bp = Blueprint("workflows", __name__)


@bp.before_request
@login_required
def require_login():
    """Require a signed-in user on every page of this blueprint."""


@bp.get("/workflows")
def index():
    return render_template("workflows/index.html", cards=workflows.cards_for(current_user.id))


@bp.post("/workflows/link")
def link():
    kind = request.form.get("kind", "")
    try:
        workflows.link(current_user.id, kind, request.form.get("token_id", type=int))
    except workflows.WorkflowError as error:
        flash(str(error), "error")
        return redirect(url_for("workflows.index"), 303)

    flash(f"{workflows.BY_KIND[kind].title} now uses the chosen token.", "success")
    return redirect(url_for("workflows.index", _anchor=f"workflow-{kind}"), 303)
