"""Webhook receivers under /webhooks. Each Hex Key has its own Fireflies webhook URL."""

import logging

from flask import Blueprint, jsonify, request

import fireflies_webhooks
from blueprints.api_errors import api_error

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


@bp.post("/fireflies/<endpoint_id>")
def fireflies(endpoint_id):
    body = request.get_data(cache=False)
    try:
        receipt = fireflies_webhooks.receive(endpoint_id, body, request.headers.get("X-Hub-Signature"))
    except fireflies_webhooks.DeliveryRejected as rejection:
        log.info("Webhook delivery rejected: endpoint=%s reason=%s from %s",
                 endpoint_id[:8], rejection.reason, request.remote_addr)
        return api_error(rejection.status, rejection.reason, rejection.message)

    return jsonify(status=receipt.outcome, meeting_id=receipt.meeting.fireflies_meeting_id)
