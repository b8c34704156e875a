"""The JSON API under /api/v1, authenticated by a Bearer token (JWT Token or Hex Key).

It never reads the session cookie, never redirects to a sign-in page and needs no CSRF
token, because a request carries its own credential.
"""

import base64
import binascii
import logging
from functools import wraps

from flask import Blueprint, after_this_request, current_app, g, jsonify, request, url_for
from sqlalchemy import bindparam, select

import openapi
import rate_limits
import token_service
from blueprints.api_errors import ApiError, api_error
from extensions import db
from models import MAX_ID, Membership, Workspace

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50

_workspaces = Workspace.__table__
_memberships = Membership.__table__
# A Core select built once, run on a pooled connection: /me is the route that clients call
# to check a token, so it loads no ORM entities.
_WORKSPACES_OF_USER = (
    select(_workspaces.c.id, _workspaces.c.name, _workspaces.c.personal, _memberships.c.role)
    .join(_memberships, _memberships.c.workspace_id == _workspaces.c.id)
    .where(_memberships.c.user_id == bindparam("user_id"))
    .order_by(_workspaces.c.personal.desc(), _workspaces.c.id)
)


def bearer_required(view):
    """Authenticate the request's Bearer token; return 401 as RFC 6750 describes if it fails."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        retry_after = rate_limits.bearer_retry_after(request.remote_addr or "")
        if retry_after is not None:
            return api_error(429, "too_many_requests",
                             "Too many requests with invalid tokens from your address. Wait a minute and try again.",
                             headers={"Retry-After": str(retry_after)})
        try:
            value = token_service.parse_bearer(request.headers.get("Authorization"))
            g.api_user, g.api_token = token_service.authenticate(value, source_ip=request.remote_addr)
        except token_service.InvalidToken as error:
            rate_limits.record_bearer_failure(request.remote_addr or "")
            log.info("Bearer token rejected from %s: %s", request.remote_addr, error.reason)
            challenge = f'Bearer realm="api", error="invalid_token", error_description="{error.message}"'
            if error.reason == "missing":
                challenge = 'Bearer realm="api"'
            return api_error(401, "invalid_token", error.message, headers={"WWW-Authenticate": challenge})
        after_this_request(_add_token_expiry)
        return view(*args, **kwargs)

    return wrapper


def _add_token_expiry(response):
    """Send the token's expiry (RFC 3339, UTC) with every authenticated response, so scripts can warn."""
    response.headers["Token-Expires-At"] = g.api_token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return response


def page_size():
    raw = request.args.get("limit", str(DEFAULT_PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(422, "invalid_fields", "Invalid query parameter.",
                       fields={"limit": f"Use a whole number from 1 to {MAX_PAGE_SIZE}."})
    return int(raw)


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(f"before:{last_id}".encode()).decode().rstrip("=")


def decode_cursor():
    """Return the id that the ``cursor`` query parameter continues before, or None."""
    raw = request.args.get("cursor")
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "before" and number.isdigit() and int(number) <= MAX_ID:
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(422, "invalid_fields", "Invalid query parameter.",
                   fields={"cursor": "Use the cursor from the 'next' link of the previous page."})


def next_link(endpoint, rows, has_more, **arguments):
    if not has_more or not rows:
        return None
    return url_for(endpoint, cursor=encode_cursor(rows[-1].id), _external=True, **arguments)


@bp.get("/me")
@bearer_required
def me():
    user, token = g.api_user, g.api_token
    return jsonify(
        user={"id": user.id, "email": user.email, "name": user.name},
        workspaces=[workspace_json(row) for row in workspaces_of(user.id)],
        token={
            "id": token.id,
            "name": token.name,
            "type": token.kind,
            "expires_at": token.expires_at.isoformat(),
        },
    )


def workspace_json(row):
    return {"id": row.id, "name": row.name, "personal": row.personal, "role": row.role}


def workspaces_of(user_id):
    """Return the user's workspaces with the user's role, personal workspace first, as rows."""
    with db.engine.connect() as connection:
        return connection.execute(_WORKSPACES_OF_USER, {"user_id": user_id}).all()


@bp.get("/openapi.json")
def openapi_document():
    """Return the OpenAPI document. It needs no token, so that tools can read it first."""
    return jsonify(openapi.document(request.host_url.rstrip("/")))


@bp.get("/workspaces")
@bearer_required
def list_workspaces():
    return jsonify(workspaces=[workspace_json(row) for row in workspaces_of(g.api_user.id)])


def init_app(app):
    """Respond to CORS preflight requests and add CORS headers to every API response.

    Any origin is allowed by default, which is safe because the API reads no cookies and
    accepts only Bearer tokens.
    """

    @app.before_request
    def answer_preflight():
        if request.method == "OPTIONS" and request.path.startswith("/api/"):
            response = current_app.make_response(("", 204))
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key"
            response.headers["Access-Control-Max-Age"] = "600"
            return response
        return None

    @app.after_request
    def add_cors_headers(response):
        if not request.path.startswith("/api/"):
            return response
        origin = request.headers.get("Origin")
        allowed = current_app.config["CORS_ORIGINS"]
        if allowed == "*":
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin and origin in {item.strip() for item in allowed.split(",")}:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
        response.headers["Access-Control-Expose-Headers"] = "Location, Retry-After, WWW-Authenticate"
        return response
