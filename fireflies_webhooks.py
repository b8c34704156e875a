"""Receive Fireflies webhook deliveries: verify the signature, parse the body, store it.

Fireflies signs each delivery with the webhook secret (a Hex Key): the
``X-Hub-Signature`` header contains the HMAC-SHA256 of the raw body as hex, sometimes with
a ``sha256=`` prefix. Two body formats exist:

- V1: ``{"meetingId", "eventType", "clientReferenceId"}``
- V2: ``{"event", "timestamp" (milliseconds), "meeting_id", "client_reference_id"}``
"""

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from flask import current_app
from sqlalchemy import LargeBinary, bindparam, select, text

import clock
import delivery_log
import jobs
import token_service
from extensions import db
from models import ApiToken, Meeting, Membership, UTCDateTime, WebhookDelivery, Workspace, token_status

log = logging.getLogger(__name__)

SIGNATURE_PATTERN = re.compile(r"(?:sha256=)?([0-9a-fA-F]{64})")
# How far a V2 timestamp may lie in the future, for clocks that differ.
FUTURE_ALLOWANCE = timedelta(minutes=5)
MAX_ID_LENGTH = 200
MAX_EVENT_LENGTH = 100


class DeliveryRejected(Exception):
    """A delivery was not accepted. ``status`` is the HTTP status of the response."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


@dataclass
class Delivery:
    meeting_id: str
    event: str
    payload_version: int
    client_reference_id: Optional[str] = None
    event_timestamp: Optional[datetime] = None


@dataclass(frozen=True)
class StoredMeeting:
    id: int
    fireflies_meeting_id: str


@dataclass
class Receipt:
    # "accepted" for a new delivery, "duplicate" for a repeat of a stored one.
    outcome: str
    # None for a test delivery, which stores no meeting.
    meeting: Optional[StoredMeeting]


_tokens = ApiToken.__table__
_meetings = Meeting.__table__
_deliveries = WebhookDelivery.__table__
_workspaces = Workspace.__table__
_memberships = Membership.__table__

# Statements built once, so that SQLAlchemy reuses their compiled SQL. A delivery reads the
# Hex Key's row with its owner's personal workspace in one select, then writes with Core
# inserts on the same pooled connection, loading no ORM entities.
_PERSONAL_WORKSPACE = (
    select(_memberships.c.workspace_id)
    .join(_workspaces, _workspaces.c.id == _memberships.c.workspace_id)
    .where(_memberships.c.user_id == _tokens.c.user_id, _workspaces.c.personal.is_(True))
    .limit(1)
    .scalar_subquery()
)
_ENDPOINT_LOOKUP = select(
    _tokens.c.id, _tokens.c.user_id, _tokens.c.secret_digest, _tokens.c.secret_encrypted,
    _tokens.c.expires_at, _tokens.c.revoked_at, _PERSONAL_WORKSPACE.label("workspace_id"),
).where(_tokens.c.endpoint_id == bindparam("endpoint_id"), _tokens.c.kind == "hex")
_MEETING_ID = select(_meetings.c.id).where(
    _meetings.c.user_id == bindparam("user_id"),
    _meetings.c.fireflies_meeting_id == bindparam("fireflies_meeting_id"),
)
_DELIVERY_EXISTS = select(_deliveries.c.id).where(
    _deliveries.c.user_id == bindparam("user_id"),
    _deliveries.c.fireflies_meeting_id == bindparam("fireflies_meeting_id"),
    _deliveries.c.event == bindparam("event"),
)
# SQLAlchemy 2.0 does not cache the compiled SQL of its dialect-specific INSERT ... ON
# CONFLICT constructs (their Insert classes set inherit_cache = False), so compiling them
# cost more than the rest of a delivery. These text statements are cached, and their SQL
# runs unchanged on SQLite 3.35 or newer and on PostgreSQL. Columns with a Python default
# in models.py get their value from store().
_INSERT_MEETING = text(
    "INSERT INTO meeting (user_id, workspace_id, fireflies_meeting_id, client_reference_id,"
    " created_at, fetch_status, fetch_queued_at, fetch_attempts, participants, summary_keywords)"
    " VALUES (:user_id, :workspace_id, :fireflies_meeting_id, :client_reference_id,"
    " :created_at, 'pending', :created_at, 0, '[]', '[]')"
    " ON CONFLICT (user_id, fireflies_meeting_id) DO NOTHING RETURNING id"
).bindparams(bindparam("created_at", type_=UTCDateTime()))
_INSERT_DELIVERY = text(
    "INSERT INTO webhook_delivery (user_id, token_id, meeting_id, fireflies_meeting_id, event,"
    " payload_version, event_timestamp, received_at, body)"
    " VALUES (:user_id, :token_id, :meeting_id, :fireflies_meeting_id, :event,"
    " :payload_version, :event_timestamp, :received_at, :body)"
    " ON CONFLICT (user_id, fireflies_meeting_id, event) DO NOTHING RETURNING id"
).bindparams(
    bindparam("event_timestamp", type_=UTCDateTime()),
    bindparam("received_at", type_=UTCDateTime()),
    bindparam("body", type_=LargeBinary()),
)


def receive(endpoint_id, body, signature_header, source_ip=None, test=False):
    """Verify and store one delivery to the webhook URL ``endpoint_id``, and log the verdict.

    Return a Receipt, or raise DeliveryRejected; a rejected delivery stores nothing but its
    delivery log entry. Every delivery reads the Hex Key's row, so a revoked key is rejected
    at once. With ``test`` the delivery is checked and logged as a test, and no meeting is
    stored or fetched.
    """
    with db.engine.connect() as connection:
        token = None
        delivery = None
        try:
            token = connection.execute(_ENDPOINT_LOOKUP, {"endpoint_id": endpoint_id}).first()
            delivery = _check(connection, token, body, signature_header)
            if test:
                receipt = Receipt(outcome="accepted", meeting=None)
            else:
                receipt = store(connection, token, delivery, body, commit=False)
        except DeliveryRejected as rejection:
            event, meeting_id = (delivery.event, delivery.meeting_id) if delivery else delivery_log.peek(body)
            delivery_log.record(connection, endpoint_id, token, "rejected", rejection.reason,
                                source_ip=source_ip, event=event, meeting_id=meeting_id, is_test=test)
            raise
        # The log entry joins the delivery's transaction: one commit, one fsync, per delivery.
        delivery_log.record(connection, endpoint_id, token, receipt.outcome, source_ip=source_ip,
                            event=delivery.event, meeting_id=delivery.meeting_id, body=body, is_test=test,
                            commit=False)
        connection.commit()
    if receipt.outcome == "accepted" and not test:
        # The meeting row already records when its fetch was queued, so enqueueing writes nothing else.
        jobs.enqueue_fetch(receipt.meeting.id, record_time=False)
    log.info("Webhook delivery %s: token=%s meeting=%s event=%r test=%s",
             receipt.outcome, token.id, delivery.meeting_id, delivery.event, test)
    return receipt


def _check(connection, token, body, signature_header):
    """Return the parsed delivery if ``token`` may accept it, or raise DeliveryRejected."""
    if token is None:
        raise DeliveryRejected(404, "unknown_webhook", "No webhook exists at this URL.")

    verify_signature(token, body, signature_header)

    status = token_status(token)
    if status != "active":
        raise DeliveryRejected(
            401, f"key_{status}",
            f"The Hex Key of this webhook has {'been revoked' if status == 'revoked' else 'expired'}. "
            "Create a new Hex Key and update the webhook secret in Fireflies.",
        )

    delivery = parse_body(body)
    if not _is_fresh(delivery) and not _already_stored(connection, token, delivery):
        raise DeliveryRejected(
            422, "stale_delivery",
            f"The delivery's timestamp is more than {current_app.config['WEBHOOK_MAX_AGE']} seconds old "
            "or too far in the future.",
        )
    return delivery


def _is_fresh(delivery):
    """Return False for a V2 delivery whose timestamp is outside the replay window."""
    if delivery.event_timestamp is None:
        return True
    now = clock.utcnow()
    oldest = now - timedelta(seconds=current_app.config["WEBHOOK_MAX_AGE"])
    return oldest <= delivery.event_timestamp <= now + FUTURE_ALLOWANCE


def _already_stored(connection, token, delivery):
    """Return True if this event for this meeting was accepted before, whatever its age."""
    return connection.execute(_DELIVERY_EXISTS, {
        "user_id": token.user_id, "fireflies_meeting_id": delivery.meeting_id, "event": delivery.event,
    }).first() is not None


def sign(secret, body):
    """Return the hex HMAC-SHA256 of ``body`` under ``secret``, as Fireflies computes it."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sample_delivery(secret, meeting_id):
    """Return a V2 delivery body for now and its signature under ``secret``, for trying a webhook URL."""
    body = json.dumps({
        "event": "Transcription completed",
        "timestamp": int(clock.utcnow().timestamp() * 1000),
        "meeting_id": meeting_id,
        "client_reference_id": None,
    }, separators=(",", ":")).encode()
    return body, sign(secret, body)


def verify_signature(token, body, signature_header):
    if not signature_header or not signature_header.strip():
        raise DeliveryRejected(401, "missing_signature", "The X-Hub-Signature header is missing.")

    match = SIGNATURE_PATTERN.fullmatch(signature_header.strip())
    secret = token_service.webhook_secret(token)
    expected = sign(secret, body).encode()
    # Compare even a malformed header, so the time taken does not depend on its shape.
    presented = match.group(1).lower().encode() if match else b"\x00" * len(expected)
    if not secret or not hmac.compare_digest(expected, presented) or match is None:
        raise DeliveryRejected(
            401, "signature_mismatch",
            "The signature does not match the body. Check that the webhook secret in "
            "Fireflies is this Hex Key.",
        )


def parse_body(body):
    """Parse a V1 or V2 delivery body, or raise DeliveryRejected with 422."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeliveryRejected(422, "malformed_body", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise DeliveryRejected(422, "malformed_body", "The body must be a JSON object.")

    if "meeting_id" in data:
        delivery = Delivery(
            meeting_id=_required_string(data, "meeting_id", MAX_ID_LENGTH),
            event=_required_string(data, "event", MAX_EVENT_LENGTH),
            client_reference_id=_optional_string(data, "client_reference_id"),
            event_timestamp=_timestamp(data.get("timestamp")),
            payload_version=2,
        )
    elif "meetingId" in data:
        delivery = Delivery(
            meeting_id=_required_string(data, "meetingId", MAX_ID_LENGTH),
            event=_required_string(data, "eventType", MAX_EVENT_LENGTH),
            client_reference_id=_optional_string(data, "clientReferenceId"),
            payload_version=1,
        )
    else:
        raise DeliveryRejected(
            422, "malformed_body",
            "The body has neither 'meeting_id' (V2 format) nor 'meetingId' (V1 format).",
        )
    return delivery


def _required_string(data, field, max_length):
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DeliveryRejected(422, "malformed_body", f"'{field}' must be a non-empty string.")
    if len(value) > max_length or "\x00" in value:
        raise DeliveryRejected(
            422, "malformed_body", f"'{field}' must be at most {max_length} characters without NUL."
        )
    return value.strip()


def _optional_string(data, field):
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH or "\x00" in value:
        raise DeliveryRejected(
            422, "malformed_body", f"'{field}' must be a string of at most {MAX_ID_LENGTH} characters."
        )
    return value


def _timestamp(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DeliveryRejected(422, "malformed_body", "'timestamp' must be a number of milliseconds.")
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise DeliveryRejected(422, "malformed_body", "'timestamp' is out of range.") from None


def store(connection, token, delivery, body, commit=True):
    """Store the delivery and its meeting in one transaction, once per event and meeting.

    ``token`` is the Hex Key's row with ``id``, ``user_id`` and the owner's personal
    ``workspace_id``. With ``commit=False`` the caller commits the transaction.
    """
    now = clock.utcnow()
    meeting_key = {"user_id": token.user_id, "fireflies_meeting_id": delivery.meeting_id}
    meeting_id = connection.execute(
        _INSERT_MEETING,
        {
            **meeting_key,
            "workspace_id": token.workspace_id,
            "client_reference_id": delivery.client_reference_id,
            "created_at": now,
        },
    ).scalar()
    if meeting_id is None:
        # The meeting came with an earlier delivery: ON CONFLICT DO NOTHING returns no row.
        meeting_id = connection.execute(_MEETING_ID, meeting_key).scalar_one()

    # RETURNING distinguishes an insert from a conflict on every driver, because psycopg reports rowcount -1 here.
    inserted = connection.execute(
        _INSERT_DELIVERY,
        {
            "user_id": token.user_id,
            "token_id": token.id,
            "meeting_id": meeting_id,
            "fireflies_meeting_id": delivery.meeting_id,
            "event": delivery.event,
            "payload_version": delivery.payload_version,
            "event_timestamp": delivery.event_timestamp,
            "received_at": now,
            "body": body,
        },
    ).scalar() is not None
    if commit:
        connection.commit()
    return Receipt(
        outcome="accepted" if inserted else "duplicate",
        meeting=StoredMeeting(id=meeting_id, fireflies_meeting_id=delivery.meeting_id),
    )
