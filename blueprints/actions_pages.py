"""The Actions page: actions per workspace, created inline, marked done and deleted."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

import actions
from blueprints.htmx import is_htmx, render_page_or_fragment

bp = Blueprint("actions", __name__)


@bp.before_request
@login_required
def require_login():
    """Require a signed-in user on every page of this blueprint."""


def _workspace_choice():
    """Return the user's workspaces and the one chosen by ``?workspace=`` (default: personal)."""
    workspaces = current_user.workspaces()
    chosen = request.values.get("workspace_id", type=int) or request.args.get("workspace", type=int)
    selected = next((w for w in workspaces if w.id == chosen), workspaces[0])
    return workspaces, selected


def _context(selected, workspaces, form=None, errors=None):
    rows, has_more = actions.list_actions(current_user.id, workspace_id=selected.id, limit=100)
    return {
        "workspaces": workspaces,
        "selected": selected,
        "actions": rows,
        "has_more": has_more,
        "form": form or {},
        "errors": errors or {},
    }


@bp.get("/actions")
def index():
    workspaces, selected = _workspace_choice()
    return render_template("actions/index.html", **_context(selected, workspaces))


@bp.post("/actions")
def create():
    workspaces, selected = _workspace_choice()
    form = {name: request.form.get(name, "") for name in ("title", "notes", "source_url", "due_date")}
    data = {name: value for name, value in form.items() if value.strip() or name == "title"}
    data["workspace_id"] = selected.id
    try:
        fields = actions.clean_fields(data, current_user.id)
    except actions.InvalidFields as error:
        return render_page_or_fragment("actions/index.html", "actions/_create_form.html", status=422,
                                       **_context(selected, workspaces, form, error.fields))

    action = actions.create_action(current_user.id, fields, source="app")
    if not is_htmx():
        flash(f"Action \u201c{action.title}\u201d added.", "success")
        return redirect(url_for("actions.index", workspace=selected.id), 303)
    return render_template("actions/_created.html", action=action, **_context(selected, workspaces))


def _action_or_404(action_id):
    action = actions.visible_action(current_user.id, action_id)
    if action is None:
        abort(404, "No such action in your workspaces.")
    return action


@bp.post("/actions/<int:action_id>/status")
def toggle_status(action_id):
    action = _action_or_404(action_id)
    actions.update_action(action, {"status": "done" if action.status == "open" else "open"})
    if not is_htmx():
        return redirect(url_for("actions.index", workspace=action.workspace_id), 303)
    return render_template("actions/_action_row.html", action=action)


@bp.delete("/actions/<int:action_id>")
def delete(action_id):
    action = _action_or_404(action_id)
    actions.delete_action(action)
    return render_template("_alert_oob.html", category="success", message=f"Action \u201c{action.title}\u201d deleted.")


@bp.route("/actions/<int:action_id>/delete", methods=["GET", "POST"])
def confirm_delete(action_id):
    """Confirm and delete without JavaScript."""
    action = _action_or_404(action_id)
    if request.method == "GET":
        return render_template("actions/confirm_delete.html", action=action)
    workspace_id = action.workspace_id
    actions.delete_action(action)
    flash(f"Action \u201c{action.title}\u201d deleted.", "success")
    return redirect(url_for("actions.index", workspace=workspace_id), 303)
