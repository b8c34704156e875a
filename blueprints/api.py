"""The JSON API under /api/v1, authenticated by a Bearer token (JWT Token or Hex Key).

It never reads the session cookie, never redirects to a sign-in page and needs no CSRF
token, because a request carries its own credential.
"""

import logging
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import bindparam, select

import token_service
from blueprints.api_errors import api_error
from extensions import db
from models import Meeting, Membership, Workspace

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

_workspaces = Workspace.__table__
_memberships = Membership.__table__
# A Core select built once, run on a pooled connection: /me is the route that clients call
# to check a token, so it loads no ORM entities.
_WORKSPACES_OF_USER = (
    select(_workspaces.c.id, _workspaces.c.name, _workspaces.c.personal)
    .join(_memberships, _memberships.c.workspace_id == _workspaces.c.id)
    .where(_memberships.c.user_id == bindparam("user_id"))
    .order_by(_workspaces.c.personal.desc(), _workspaces.c.id)
)


def bearer_required(view):
    """Authenticate the request's Bearer token; answer 401 as RFC 6750 describes if it fails."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            value = token_service.parse_bearer(request.headers.get("Authorization"))
            g.api_user, g.api_token = token_service.authenticate(value)
        except token_service.InvalidToken as error:
            log.info("Bearer token rejected from %s: %s", request.remote_addr, error.reason)
            challenge = f'Bearer realm="api", error="invalid_token", error_description="{error.message}"'
            if error.reason == "missing":
                challenge = 'Bearer realm="api"'
            return api_error(401, "invalid_token", error.message, headers={"WWW-Authenticate": challenge})
        return view(*args, **kwargs)

    return wrapper


@bp.get("/me")
@bearer_required
def me():
    user, token = g.api_user, g.api_token
    return jsonify(
        user={"id": user.id, "email": user.email, "name": user.name},
        workspaces=[
            {"id": workspace.id, "name": workspace.name, "personal": workspace.personal}
            for workspace in _workspaces_of(user.id)
        ],
        token={
            "id": token.id,
            "name": token.name,
            "type": token.kind,
            "expires_at": token.expires_at.isoformat(),
        },
    )


def _workspaces_of(user_id):
    """Return the user's workspaces, personal workspace first, as rows."""
    with db.engine.connect() as connection:
        return connection.execute(_WORKSPACES_OF_USER, {"user_id": user_id}).all()


@bp.get("/meetings")
@bearer_required
def list_meetings():
    meetings = db.session.scalars(
        select(Meeting).where(Meeting.user_id == g.api_user.id).order_by(Meeting.id.desc()).limit(100)
    ).all()
    return jsonify(
        meetings=[
            {
                "id": meeting.id,
                "fireflies_meeting_id": meeting.fireflies_meeting_id,
                "client_reference_id": meeting.client_reference_id,
                "workspace_id": meeting.workspace_id,
                "title": meeting.title,
                "fetch_status": meeting.fetch_status,
                "created_at": meeting.created_at.isoformat(),
            }
            for meeting in meetings
        ]
    )
