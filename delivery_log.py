"""The webhook delivery log: what arrived at each webhook URL and what the receiver did with it.

Each request adds to one row per (URL, minute, verdict, reason, test flag) with a single
INSERT ... ON CONFLICT DO UPDATE, so a flood of requests to one URL grows a counter instead
of the table. Logging never fails a delivery: an error while logging is caught and logged.
"""

import json
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import Boolean, LargeBinary, bindparam, delete, select, text

import clock
from extensions import db
from models import ApiToken, UTCDateTime, WebhookAttempt

log = logging.getLogger(__name__)

# Requests to URLs that match no Hex Key all count under this key, so that random URLs
# cannot add rows.
UNKNOWN_ENDPOINT_KEY = ""
# Rejected bodies larger than this are not parsed for their event and meeting id.
MAX_PEEK_BYTES = 64 * 1024

REASON_TEXT = {
    "missing_signature": "missing signature; the request has no X-Hub-Signature header",
    "signature_mismatch": "signature mismatch; the secret in Fireflies is not this key",
    "key_expired": "key expired; create a new Hex Key and put it in Fireflies",
    "key_revoked": "key revoked; create a new Hex Key and put it in Fireflies",
    "unknown_webhook": "unknown webhook URL",
    "malformed_body": "malformed body; it is not a Fireflies V1 or V2 delivery",
    "body_too_large": "body too large",
    "stale_delivery": "stale; the delivery's timestamp is too old or too far in the future",
}

_UPSERT = text(
    "INSERT INTO webhook_attempt (endpoint_key, token_id, user_id, window_start, verdict, reason,"
    " is_test, count, first_at, last_at, source_ip, event, meeting_id, body)"
    " VALUES (:endpoint_key, :token_id, :user_id, :window_start, :verdict, :reason,"
    " :is_test, 1, :now, :now, :source_ip, :event, :meeting_id, :body)"
    " ON CONFLICT (endpoint_key, window_start, verdict, reason, is_test) DO UPDATE SET"
    " count = webhook_attempt.count + 1, last_at = excluded.last_at, source_ip = excluded.source_ip,"
    " event = excluded.event, meeting_id = excluded.meeting_id, body = excluded.body"
).bindparams(
    bindparam("window_start", type_=UTCDateTime()),
    bindparam("now", type_=UTCDateTime()),
    bindparam("is_test", type_=Boolean()),
    bindparam("body", type_=LargeBinary()),
)
_tokens = ApiToken.__table__
_TOKEN_OF_ENDPOINT = select(_tokens.c.id, _tokens.c.user_id).where(
    _tokens.c.endpoint_id == bindparam("endpoint_id"), _tokens.c.kind == "hex"
)


def record(connection, endpoint_id, token, verdict, reason="", source_ip=None, event=None,
           meeting_id=None, body=None, is_test=False, commit=True):
    """Add one request to the log on ``connection``; log and swallow any error.

    ``token`` is the Hex Key's row (with ``id`` and ``user_id``), or None for an unknown URL.
    ``body`` is kept only for accepted deliveries, cut to WEBHOOK_LOG_BODY_LIMIT bytes.
    With ``commit=False`` the entry joins the caller's transaction, which the caller
    commits: a failed entry then never takes the caller's writes down with it.
    """
    values = _entry(endpoint_id, token, verdict, reason, source_ip, event, meeting_id, body, is_test)
    # PostgreSQL aborts the whole transaction on a failed statement, so an entry that joins
    # the caller's transaction gets a savepoint there. SQLite undoes only the failed
    # statement and needs none.
    savepoint = connection.begin_nested() if not commit and connection.dialect.name == "postgresql" else None
    try:
        connection.execute(_UPSERT, values)
    except Exception:
        log.exception("Could not add a webhook request to the delivery log: token=%s verdict=%s reason=%s",
                      token.id if token is not None else None, verdict, reason)
        if savepoint is not None:
            savepoint.rollback()
        elif commit:
            connection.rollback()
        return
    if savepoint is not None:
        savepoint.commit()
    if commit:
        connection.commit()


def _entry(endpoint_id, token, verdict, reason, source_ip, event, meeting_id, body, is_test):
    now = clock.utcnow()
    kept_body = None
    if verdict == "accepted" and body is not None:
        kept_body = body[:current_app.config["WEBHOOK_LOG_BODY_LIMIT"]]
    return {
        "endpoint_key": endpoint_id if token is not None else UNKNOWN_ENDPOINT_KEY,
        "token_id": token.id if token is not None else None,
        "user_id": token.user_id if token is not None else None,
        "window_start": now.replace(second=0, microsecond=0),
        "verdict": verdict,
        "reason": reason,
        "is_test": is_test,
        "now": now,
        "source_ip": (source_ip or "")[:45] or None,
        "event": event[:100] if event else None,
        "meeting_id": meeting_id[:200] if meeting_id else None,
        "body": kept_body,
    }


def record_without_connection(endpoint_id, verdict, reason, source_ip=None):
    """Log a request that never reached the receiver, such as one with a body too large."""
    try:
        with db.engine.connect() as connection:
            token = connection.execute(_TOKEN_OF_ENDPOINT, {"endpoint_id": endpoint_id}).first()
            record(connection, endpoint_id, token, verdict, reason, source_ip=source_ip)
    except Exception:
        log.exception("Could not add a webhook request to the delivery log: reason=%s", reason)


def peek(body):
    """Return the event and meeting id that a rejected body names, or (None, None)."""
    if body is None or len(body) > MAX_PEEK_BYTES:
        return None, None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    event = data.get("event", data.get("eventType"))
    meeting_id = data.get("meeting_id", data.get("meetingId"))
    return (event if isinstance(event, str) else None,
            meeting_id if isinstance(meeting_id, str) else None)


def reason_text(reason):
    return REASON_TEXT.get(reason, reason.replace("_", " "))


def entries_for_token(token_id, limit=20):
    """Return the token's newest log entries, tests included, newest first."""
    statement = (
        select(WebhookAttempt)
        .where(WebhookAttempt.token_id == token_id)
        .order_by(WebhookAttempt.last_at.desc(), WebhookAttempt.id.desc())
        .limit(limit)
    )
    return db.session.scalars(statement).all()


def last_real_entry(token_id):
    """Return the newest entry for the token that was not a test delivery, or None."""
    statement = (
        select(WebhookAttempt)
        .where(WebhookAttempt.token_id == token_id, WebhookAttempt.is_test.is_(False))
        .order_by(WebhookAttempt.last_at.desc(), WebhookAttempt.id.desc())
        .limit(1)
    )
    return db.session.scalar(statement)


def prune(now=None):
    """Delete entries older than WEBHOOK_LOG_RETENTION_DAYS and return how many went."""
    now = now or clock.utcnow()
    oldest = now - timedelta(days=current_app.config["WEBHOOK_LOG_RETENTION_DAYS"])
    result = db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.last_at < oldest))
    db.session.commit()
    log.info("Webhook delivery log pruned: %s entries older than %s", result.rowcount, oldest.isoformat())
    return result.rowcount
