"""The Meetings pages: meetings received from Fireflies, and one meeting in full."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import actions
from blueprints.htmx import is_htmx
from extensions import db
from models import Meeting

bp = Blueprint("meetings", __name__)

PAGE_SIZE = 50


@bp.before_request
@login_required
def require_login():
    """Require a signed-in user on every page of this blueprint."""


@bp.get("/meetings")
def index():
    meetings = db.session.scalars(
        select(Meeting).where(Meeting.user_id == current_user.id).order_by(Meeting.id.desc()).limit(PAGE_SIZE)
    ).all()
    return render_template("meetings/index.html", meetings=meetings)


@bp.get("/meetings/<int:meeting_id>")
def detail(meeting_id):
    meeting = Meeting.owned_by(current_user.id, meeting_id)
    if meeting is None:
        abort(404, "No such meeting in your account.")
    return render_template("meetings/detail.html", meeting=meeting)


@bp.post("/meetings/items/<int:item_id>/action")
def add_item_as_action(item_id):
    """Turn one of a meeting's action items into an action, with one click."""
    action = actions.add_meeting_item_as_action(current_user.id, item_id)
    if action is None:
        abort(404, "No such action item in your meetings.")
    item = next(item for item in db.session.get(Meeting, action.meeting_id).action_items if item.id == item_id)
    if is_htmx():
        return render_template("meetings/_action_item.html", item=item)
    flash(f"Added \u201c{action.title}\u201d to your actions.", "success")
    return redirect(url_for("meetings.detail", meeting_id=action.meeting_id), 303)
