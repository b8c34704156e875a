"""Actions: validate, create, change, list and delete them, for the pages and the API alike."""

import logging
from datetime import date
from urllib.parse import urlsplit

from sqlalchemy import select

import clock
from extensions import db
from models import Action, Meeting, MeetingActionItem, Membership, Workspace, valid_id

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 500
MAX_NOTES_LENGTH = 10_000
MAX_URL_LENGTH = 2048
EDITABLE_FIELDS = ("title", "notes", "source_url", "status", "due_date", "workspace_id")
# Sources a client may name when it creates an action through the API.
API_SOURCES = ("api", "extension")


class InvalidFields(Exception):
    """Input that cannot be stored; ``fields`` maps each bad field to what is wrong with it."""

    def __init__(self, fields):
        super().__init__("; ".join(f"{name}: {message}" for name, message in fields.items()))
        self.fields = fields


def member_workspace_ids(user_id):
    return set(db.session.scalars(select(Membership.workspace_id).where(Membership.user_id == user_id)))


def _clean_title(value, errors):
    if not isinstance(value, str) or not value.strip():
        errors["title"] = "Enter a title."
        return None
    value = value.strip()
    if len(value) > MAX_TITLE_LENGTH:
        errors["title"] = f"Use at most {MAX_TITLE_LENGTH} characters."
    elif "\x00" in value:
        errors["title"] = "The title cannot contain NUL characters."
    return value


def _clean_notes(value, errors):
    if value is None:
        return ""
    if not isinstance(value, str):
        errors["notes"] = "Notes must be text."
        return None
    if len(value) > MAX_NOTES_LENGTH or "\x00" in value:
        errors["notes"] = f"Use at most {MAX_NOTES_LENGTH} characters, without NUL."
    return value


def _clean_url(value, errors):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        errors["source_url"] = f"Use an http or https URL of at most {MAX_URL_LENGTH} characters."
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value.strip()):
        errors["source_url"] = "Use an http or https URL, such as https://example.com/page."
    return value.strip()


def _clean_status(value, errors):
    if value not in Action.STATUSES:
        errors["status"] = "Use open or done."
    return value


def _clean_due_date(value, errors):
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else _bad_date(errors)
        except ValueError:
            pass
    return _bad_date(errors)


def _bad_date(errors):
    errors["due_date"] = "Use a date as YYYY-MM-DD."
    return None


def _clean_workspace(value, user_id, errors):
    if isinstance(value, bool) or not isinstance(value, int):
        errors["workspace_id"] = "Use the id of one of your workspaces."
        return None
    if value not in member_workspace_ids(user_id):
        errors["workspace_id"] = "No workspace of yours has this id."
    return value


def clean_fields(data, user_id, partial=False):
    """Return the validated fields of ``data``, or raise InvalidFields naming each problem.

    With ``partial``, only the fields present are checked (for PATCH).
    """
    errors = {}
    unknown = sorted(set(data) - set(EDITABLE_FIELDS) - ({"source"} if not partial else set()))
    for name in unknown:
        errors[name] = "Unknown field."

    cleaners = {
        "title": _clean_title,
        "notes": _clean_notes,
        "source_url": _clean_url,
        "status": _clean_status,
        "due_date": _clean_due_date,
    }
    cleaned = {}
    for name, cleaner in cleaners.items():
        if name in data:
            cleaned[name] = cleaner(data[name], errors)
        elif name == "title" and not partial:
            errors["title"] = "Enter a title."
    if "workspace_id" in data:
        cleaned["workspace_id"] = _clean_workspace(data["workspace_id"], user_id, errors)
    if not partial and "source" in data:
        if data["source"] not in API_SOURCES:
            errors["source"] = f"Use one of: {', '.join(API_SOURCES)}."
        cleaned["source"] = data["source"]
    if errors:
        raise InvalidFields(errors)
    return cleaned


def personal_workspace_id(user_id):
    return db.session.scalar(
        select(Workspace.id).join(Membership).where(Membership.user_id == user_id, Workspace.personal.is_(True))
    )


def create_action(user_id, fields, source="app", meeting_id=None, commit=True):
    """Create an action from validated ``fields`` in the given or the personal workspace."""
    workspace_id = fields.get("workspace_id") or personal_workspace_id(user_id)
    action = Action(
        workspace_id=workspace_id,
        created_by_id=user_id,
        title=fields["title"],
        notes=fields.get("notes") or "",
        source_url=fields.get("source_url"),
        status=fields.get("status") or "open",
        due_date=fields.get("due_date"),
        source=fields.get("source") or source,
        meeting_id=meeting_id,
    )
    db.session.add(action)
    db.session.flush()
    if commit:
        db.session.commit()
    log.info("Action created: id=%s workspace=%s source=%s", action.id, action.workspace_id, action.source)
    return action


def update_action(action, fields):
    for name, value in fields.items():
        setattr(action, name, value)
    action.updated_at = clock.utcnow()
    db.session.commit()
    return action


def delete_action(action):
    log.info("Action deleted: id=%s workspace=%s", action.id, action.workspace_id)
    db.session.delete(action)
    db.session.commit()


def visible_action(user_id, action_id):
    """Return the action if it is in one of the user's workspaces, else None."""
    if not valid_id(action_id):
        return None
    return db.session.scalar(Action.visible_to(user_id).where(Action.id == action_id))


def list_actions(user_id, workspace_id=None, status=None, after_id=None, limit=50):
    """Return up to ``limit`` actions, newest first, and whether more follow."""
    statement = Action.visible_to(user_id)
    if workspace_id is not None:
        statement = statement.where(Action.workspace_id == workspace_id)
    if status is not None:
        statement = statement.where(Action.status == status)
    if after_id is not None:
        statement = statement.where(Action.id < after_id)
    rows = db.session.scalars(statement.order_by(Action.id.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def add_meeting_item_as_action(user_id, item_id):
    """Turn a meeting's draft action item into an action, once; return the action or None."""
    if not valid_id(item_id):
        return None
    item = db.session.scalar(
        select(MeetingActionItem).join(Meeting).where(MeetingActionItem.id == item_id, Meeting.user_id == user_id)
    )
    if item is None:
        return None
    if item.action_id is not None:
        return db.session.get(Action, item.action_id)
    meeting = db.session.get(Meeting, item.meeting_id)
    action = create_action(
        user_id,
        {"title": item.text[:MAX_TITLE_LENGTH], "workspace_id": meeting.workspace_id,
         "notes": f"From the meeting \u201c{meeting.title or meeting.fireflies_meeting_id}\u201d."},
        source="fireflies",
        meeting_id=meeting.id,
        commit=False,
    )
    item.action_id = action.id
    db.session.commit()
    return action


def action_json(action):
    return {
        "id": action.id,
        "workspace_id": action.workspace_id,
        "title": action.title,
        "notes": action.notes,
        "source_url": action.source_url,
        "status": action.status,
        "due_date": action.due_date.isoformat() if action.due_date else None,
        "source": action.source,
        "meeting_id": action.meeting_id,
        "created_at": action.created_at.isoformat(),
        "updated_at": action.updated_at.isoformat(),
    }
