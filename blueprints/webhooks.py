"""Webhook receivers under /webhooks. Each Hex Key has its own Fireflies webhook URL."""

import logging

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

import delivery_log
import fireflies_webhooks
from blueprints.api_errors import api_error
from rate_limits import configured, limiter, webhook_key

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


def read_body():
    """Return the raw request body, or raise 413 if it is larger than MAX_CONTENT_LENGTH.

    With a Content-Length header werkzeug raises 413 before reading. Without one (chunked
    transfer), werkzeug stops reading at the limit without an error, so a body that fills
    the limit is taken as too large.
    """
    body = request.get_data(cache=False)
    if request.content_length is None and len(body) >= current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge()
    return body


@bp.post("/fireflies/<endpoint_id>")
@limiter.limit(configured("WEBHOOK_RATE_LIMIT"), key_func=webhook_key,
               error_message="Too many requests to this webhook URL. Wait a minute and try again.")
def fireflies(endpoint_id):
    try:
        body = read_body()
    except RequestEntityTooLarge:
        delivery_log.record_without_connection(endpoint_id, "rejected", "body_too_large", request.remote_addr)
        raise
    try:
        receipt = fireflies_webhooks.receive(endpoint_id, body, request.headers.get("X-Hub-Signature"),
                                             source_ip=request.remote_addr)
    except fireflies_webhooks.DeliveryRejected as rejection:
        log.info("Webhook delivery rejected: endpoint=%s reason=%s from %s",
                 endpoint_id[:8], rejection.reason, request.remote_addr)
        return api_error(rejection.status, rejection.reason, rejection.message)

    return jsonify(status=receipt.outcome, meeting_id=receipt.meeting.fireflies_meeting_id)
