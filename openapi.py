"""The OpenAPI 3.1 document of the JSON API, served at /api/v1/openapi.json.

A test compares its paths with the app's routes, so a route missing here fails the suite,
and a schemathesis run checks every response against these schemas.
"""

from actions import API_SOURCES, MAX_NOTES_LENGTH, MAX_TITLE_LENGTH, MAX_URL_LENGTH


def _nullable(schema):
    return {**schema, "type": [schema["type"], "null"]}


STRING = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A machine-readable code, such as invalid_token."},
        "message": {"type": "string", "description": "A sentence that says what failed and what to do."},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "For 422: each invalid field and what is wrong with it."},
    },
}

WORKSPACE = {
    "type": "object",
    "required": ["id", "name", "personal", "role"],
    "properties": {"id": ID, "name": STRING, "personal": {"type": "boolean"},
                   "role": {"type": "string", "enum": ["owner", "member"]}},
}

ACTION = {
    "type": "object",
    "required": ["id", "workspace_id", "title", "notes", "source_url", "status", "due_date", "source",
                 "meeting_id", "created_at", "updated_at"],
    "properties": {
        "id": ID,
        "workspace_id": ID,
        "title": STRING,
        "notes": STRING,
        "source_url": _nullable(STRING),
        "status": {"type": "string", "enum": ["open", "done"]},
        "due_date": {"type": ["string", "null"], "format": "date"},
        "source": {"type": "string", "enum": ["app", "api", "extension", "fireflies"]},
        "meeting_id": {"type": ["integer", "null"]},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
    },
}

ACTION_FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_LENGTH},
    "notes": {"type": "string", "maxLength": MAX_NOTES_LENGTH},
    "source_url": {"type": ["string", "null"], "format": "uri", "maxLength": MAX_URL_LENGTH,
                   "description": "An http or https URL."},
    "status": {"type": "string", "enum": ["open", "done"]},
    "due_date": {"type": ["string", "null"], "format": "date"},
    "workspace_id": {"type": "integer", "description": "One of your workspaces; default: your personal one."},
}

ACTION_INPUT = {
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {**ACTION_FIELDS, "source": {"type": "string", "enum": list(API_SOURCES), "default": "api"}},
}

ACTION_PATCH = {"type": "object", "additionalProperties": False, "properties": ACTION_FIELDS}

MEETING = {
    "type": "object",
    "required": ["id", "fireflies_meeting_id", "client_reference_id", "workspace_id", "title", "held_at",
                 "duration_minutes", "participants", "fetch_status", "fetch_error", "created_at"],
    "properties": {
        "id": ID,
        "fireflies_meeting_id": STRING,
        "client_reference_id": _nullable(STRING),
        "workspace_id": ID,
        "title": _nullable(STRING),
        "held_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_minutes": {"type": ["number", "null"]},
        "participants": {"type": "array", "items": STRING},
        "fetch_status": {"type": "string", "enum": ["pending", "done", "failed"]},
        "fetch_error": _nullable(STRING),
        "created_at": DATE_TIME,
    },
}

MEETING_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Meeting"},
        {
            "type": "object",
            "required": ["summary", "action_items", "sentences"],
            "properties": {
                "summary": {"type": "object", "required": ["overview", "keywords"], "properties": {
                    "overview": _nullable(STRING), "keywords": {"type": "array", "items": STRING}}},
                "action_items": {"type": "array", "items": {"type": "object", "required": ["id", "text", "action_id"],
                                 "properties": {"id": ID, "text": STRING, "action_id": {"type": ["integer", "null"]}}}},
                "sentences": {"type": "array", "items": {"type": "object", "required": ["index", "speaker", "text"],
                              "properties": {"index": {"type": "integer"}, "speaker": STRING, "text": STRING,
                                             "start_time": {"type": ["number", "null"]},
                                             "end_time": {"type": ["number", "null"]}}}},
            },
        },
    ]
}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description):
    return _json(_ref("Error"), description)


# Responses that any authenticated operation can give.
COMMON_ERRORS = {
    "401": {**_error("The Bearer token is missing, malformed, unknown, expired or revoked."),
            "headers": {"WWW-Authenticate": {"schema": STRING}}},
    "429": {**_error("Too many rejected tokens from this address; wait for Retry-After seconds."),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
}

CURSOR_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
    {"name": "cursor", "in": "query", "schema": STRING,
     "description": "The cursor from the 'next' link of the previous page."},
]


def _operation(summary, responses, parameters=None, body=None, auth=True):
    operation = {"summary": summary, "responses": {**responses, **(COMMON_ERRORS if auth else {})}}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not auth:
        operation["security"] = []
    return operation


def _page(name, schema):
    return {"type": "object", "required": [name, "next"],
            "properties": {name: {"type": "array", "items": schema}, "next": {"type": ["string", "null"]}}}


ACTION_ID = [{"name": "action_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
MEETING_ID = [{"name": "meeting_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def document(server_url):
    """Return the OpenAPI document with ``server_url`` as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Exponential API",
            "version": "1.0.0",
            "description": "Read and capture your data with a Bearer token from the Tokens page: "
                           "a JWT Token or a Hex Key, sent as 'Authorization: Bearer <token>'.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/me": {"get": _operation("The token's user, workspaces and the token itself", {
                "200": _json({"type": "object", "required": ["user", "workspaces", "token"], "properties": {
                    "user": {"type": "object", "required": ["id", "email", "name"],
                             "properties": {"id": ID, "email": STRING, "name": STRING}},
                    "workspaces": {"type": "array", "items": _ref("Workspace")},
                    "token": {"type": "object", "required": ["id", "name", "type", "expires_at"], "properties": {
                        "id": ID, "name": STRING, "type": {"type": "string", "enum": ["hex", "jwt"]},
                        "expires_at": DATE_TIME}},
                }}, "The user of the token."),
            })},
            "/api/v1/workspaces": {"get": _operation("Your workspaces", {
                "200": _json({"type": "object", "required": ["workspaces"],
                              "properties": {"workspaces": {"type": "array", "items": _ref("Workspace")}}},
                             "Your workspaces, personal first."),
            })},
            "/api/v1/actions": {
                "get": _operation("List actions, newest first", {
                    "200": _json(_page("actions", _ref("Action")), "A page of actions."),
                    "422": _error("A query parameter is invalid."),
                }, parameters=[
                    {"name": "workspace_id", "in": "query", "schema": {"type": "integer"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "done"]}},
                    *CURSOR_PARAMETERS,
                ]),
                "post": _operation("Create an action", {
                    "201": {**_json(_ref("Action"), "The action, created (or replayed for a repeated Idempotency-Key)."),
                            "headers": {"Location": {"schema": STRING}}},
                    "400": _error("The body is not a JSON object."),
                    "415": _error("The body is not sent as application/json."),
                    "422": _error("Some fields are invalid, or the Idempotency-Key was used for another request."),
                }, parameters=[{"name": "Idempotency-Key", "in": "header", "schema": {
                    "type": "string", "minLength": 1, "maxLength": 255},
                    "description": "Send the same key when retrying, so that one action is created."}],
                    body=_ref("ActionInput")),
            },
            "/api/v1/actions/{action_id}": {
                "get": _operation("One action", {"200": _json(_ref("Action"), "The action."),
                                                 "404": _error("No such action in your workspaces.")},
                                  parameters=ACTION_ID),
                "patch": _operation("Change an action", {
                    "200": _json(_ref("Action"), "The changed action."),
                    "400": _error("The body is not a JSON object."),
                    "404": _error("No such action in your workspaces."),
                    "415": _error("The body is not sent as application/json."),
                    "422": _error("Some fields are invalid."),
                }, parameters=ACTION_ID, body=_ref("ActionPatch")),
                "delete": _operation("Delete an action", {
                    "204": {"description": "Deleted."},
                    "404": _error("No such action in your workspaces."),
                }, parameters=ACTION_ID),
            },
            "/api/v1/meetings": {"get": _operation("List meetings received from Fireflies, newest first", {
                "200": _json(_page("meetings", _ref("Meeting")), "A page of meetings."),
                "422": _error("A query parameter is invalid."),
            }, parameters=CURSOR_PARAMETERS)},
            "/api/v1/meetings/{meeting_id}": {"get": _operation("One meeting with summary and transcript", {
                "200": _json(_ref("MeetingDetail"), "The meeting."),
                "404": _error("No such meeting in your account."),
            }, parameters=MEETING_ID)},
            "/api/v1/openapi.json": {"get": _operation("This document", {
                "200": {"description": "The OpenAPI document.", "content": {"application/json": {}}},
            }, auth=False)},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "A JWT Token or a Hex Key from the Tokens page."}},
            "schemas": {
                "Error": ERROR,
                "Workspace": WORKSPACE,
                "Action": ACTION,
                "ActionInput": ACTION_INPUT,
                "ActionPatch": ACTION_PATCH,
                "Meeting": MEETING,
                "MeetingDetail": MEETING_DETAIL,
            },
        },
    }
