"""Meetings in the JSON API: the list, and one meeting with its summary and transcript."""

from flask import Blueprint, g, jsonify
from sqlalchemy import select

from blueprints.api import bearer_required, decode_cursor, next_link, page_size
from blueprints.api_errors import ApiError
from extensions import db
from models import Meeting

bp = Blueprint("api_meetings", __name__, url_prefix="/api/v1")


def meeting_json(meeting, detail=False):
    body = {
        "id": meeting.id,
        "fireflies_meeting_id": meeting.fireflies_meeting_id,
        "client_reference_id": meeting.client_reference_id,
        "workspace_id": meeting.workspace_id,
        "title": meeting.title,
        "held_at": meeting.held_at.isoformat() if meeting.held_at else None,
        "duration_minutes": meeting.duration_minutes,
        "participants": meeting.participants or [],
        "fetch_status": meeting.fetch_status,
        "fetch_error": meeting.fetch_error,
        "created_at": meeting.created_at.isoformat(),
    }
    if detail:
        body["summary"] = {"overview": meeting.summary_overview, "keywords": meeting.summary_keywords or []}
        body["action_items"] = [
            {"id": item.id, "text": item.text, "action_id": item.action_id} for item in meeting.action_items
        ]
        body["sentences"] = [
            {"index": sentence.index, "speaker": sentence.speaker, "text": sentence.text,
             "start_time": sentence.start_time, "end_time": sentence.end_time}
            for sentence in meeting.sentences
        ]
    return body


@bp.get("/meetings")
@bearer_required
def list_meetings():
    limit = page_size()
    statement = select(Meeting).where(Meeting.user_id == g.api_user.id)
    before = decode_cursor()
    if before is not None:
        statement = statement.where(Meeting.id < before)
    rows = db.session.scalars(statement.order_by(Meeting.id.desc()).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        meetings=[meeting_json(meeting) for meeting in rows],
        next=next_link("api_meetings.list_meetings", rows, has_more, limit=limit),
    )


@bp.get("/meetings/<int:meeting_id>")
@bearer_required
def get_meeting(meeting_id):
    meeting = Meeting.owned_by(g.api_user.id, meeting_id)
    if meeting is None:
        raise ApiError(404, "not_found", f"No meeting with id {meeting_id} in your account.")
    return jsonify(meeting_json(meeting, detail=True))
