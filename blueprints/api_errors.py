"""The one error shape of the JSON API and the webhooks."""

from flask import jsonify


def api_error(status, error, message, fields=None, headers=None):
    """Return a JSON error response: ``{"error": code, "message": sentence[, "fields"]}``."""
    body = {"error": error, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response
