"""The one error shape of the JSON API and the webhooks, and reading JSON request bodies."""

from flask import jsonify, request


class ApiError(Exception):
    """An API failure that becomes a JSON error response with ``status``."""

    def __init__(self, status, error, message, fields=None, headers=None):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = fields
        self.headers = headers


def api_error(status, error, message, fields=None, headers=None):
    """Return a JSON error response: ``{"error": code, "message": sentence[, "fields"]}``."""
    body = {"error": error, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def json_object():
    """Return the request's JSON object, or raise ApiError with 415 or 400."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "malformed_json", "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    return data


def init_app(app):
    @app.errorhandler(ApiError)
    def handle_api_error(error):
        return api_error(error.status, error.error, error.message, error.fields, error.headers)
