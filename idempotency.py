"""Idempotency-Key support: a retried POST gets the first response instead of a second effect."""

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class KeyReused(Exception):
    """The key was used before for a request with another method, path or body."""


def request_digest(method, path, body):
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def find(user_id, key, digest):
    """Return the stored record for this key, or None; raise KeyReused if it was another request."""
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is not None and record.request_digest != digest:
        raise KeyReused(key)
    return record


def remember(user_id, key, digest, status_code, body, location=None):
    """Add the response to the current transaction; the caller commits it with the effect."""
    db.session.add(IdempotencyRecord(
        user_id=user_id, key=key, request_digest=digest, status_code=status_code,
        response_body=json.dumps(body), location=location,
    ))


def commit_or_replay(user_id, key, digest):
    """Commit the effect and its record; if a concurrent request with the key won, return its record."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return find(user_id, key, digest)
    return None
