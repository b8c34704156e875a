"""Actions in the JSON API: list, create (with Idempotency-Key), read, change and delete."""

import json

from flask import Blueprint, g, jsonify, request, url_for

import actions
import idempotency
from blueprints.api import bearer_required, decode_cursor, next_link, page_size
from blueprints.api_errors import ApiError, json_object
from models import Action

bp = Blueprint("api_actions", __name__, url_prefix="/api/v1")


def _invalid(fields):
    return ApiError(422, "invalid_fields", "Some fields are invalid; see 'fields'.", fields=fields)


def _action_or_404(action_id):
    action = actions.visible_action(g.api_user.id, action_id)
    if action is None:
        raise ApiError(404, "not_found", f"No action with id {action_id} in your workspaces.")
    return action


def _query_filters():
    filters, errors = {}, {}
    workspace = request.args.get("workspace_id")
    if workspace is not None:
        if not workspace.isdigit() or int(workspace) not in actions.member_workspace_ids(g.api_user.id):
            errors["workspace_id"] = "Use the id of one of your workspaces."
        else:
            filters["workspace_id"] = int(workspace)
    status = request.args.get("status")
    if status is not None:
        if status not in Action.STATUSES:
            errors["status"] = "Use open or done."
        else:
            filters["status"] = status
    if errors:
        raise _invalid(errors)
    return filters


@bp.get("/actions")
@bearer_required
def list_actions():
    filters = _query_filters()
    limit = page_size()
    rows, has_more = actions.list_actions(g.api_user.id, after_id=decode_cursor(), limit=limit, **filters)
    return jsonify(
        actions=[actions.action_json(action) for action in rows],
        next=next_link("api_actions.list_actions", rows, has_more, limit=limit, **filters),
    )


@bp.post("/actions")
@bearer_required
def create_action():
    user = g.api_user
    key = request.headers.get("Idempotency-Key")
    digest = None
    if key is not None:
        if not key.strip() or len(key) > idempotency.MAX_KEY_LENGTH or not key.isascii():
            raise _invalid({"Idempotency-Key": f"Use 1 to {idempotency.MAX_KEY_LENGTH} ASCII characters."})
        digest = idempotency.request_digest("POST", request.path, request.get_data())
        try:
            record = idempotency.find(user.id, key, digest)
        except idempotency.KeyReused:
            raise ApiError(422, "idempotency_key_reused",
                           "This Idempotency-Key was used for a different request. Use a new key.") from None
        if record is not None:
            return _replay(record)

    try:
        fields = actions.clean_fields(json_object(), user.id)
    except actions.InvalidFields as error:
        raise _invalid(error.fields) from None

    action = actions.create_action(user.id, fields, source="api", commit=key is None)
    body = actions.action_json(action)
    location = url_for("api_actions.get_action", action_id=action.id, _external=True)
    if key is not None:
        idempotency.remember(user.id, key, digest, 201, body, location)
        winner = idempotency.commit_or_replay(user.id, key, digest)
        if winner is not None:
            return _replay(winner)
    return jsonify(body), 201, {"Location": location}


def _replay(record):
    headers = {"Idempotent-Replayed": "true"}
    if record.location:
        headers["Location"] = record.location
    return jsonify(json.loads(record.response_body)), record.status_code, headers


@bp.get("/actions/<int:action_id>")
@bearer_required
def get_action(action_id):
    return jsonify(actions.action_json(_action_or_404(action_id)))


@bp.patch("/actions/<int:action_id>")
@bearer_required
def update_action(action_id):
    action = _action_or_404(action_id)
    try:
        fields = actions.clean_fields(json_object(), g.api_user.id, partial=True)
    except actions.InvalidFields as error:
        raise _invalid(error.fields) from None
    return jsonify(actions.action_json(actions.update_action(action, fields)))


@bp.delete("/actions/<int:action_id>")
@bearer_required
def delete_action(action_id):
    actions.delete_action(_action_or_404(action_id))
    return "", 204
