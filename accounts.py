"""Create accounts and check passwords."""

import hashlib
import hmac
import logging
import secrets

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

import clock
from extensions import db
from models import Membership, User, UserSession, Workspace

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class EmailTaken(Exception):
    """An account with this email already exists."""


def create_user(email, name, password):
    """Create a user with a personal workspace, and return the user.

    Raise EmailTaken if the email is in use, whatever its case.
    """
    email = email.strip().lower()
    name = name.strip() or email.split("@")[0]
    user = User(
        email=email,
        name=name,
        password_hash=generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"]),
    )
    workspace = Workspace(name=f"{name}'s workspace", personal=True)
    db.session.add_all([user, workspace])
    db.session.add(Membership(user=user, workspace=workspace, role="owner"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EmailTaken(email) from None
    log.info("User created: id=%s", user.id)
    return user


def authenticate(email, password):
    """Return the user with this email and password, or None.

    An unknown email costs the same hash check as a wrong password, so the time taken
    does not tell whether an account exists.
    """
    user = User.find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def _dummy_hash():
    method = current_app.config["PASSWORD_HASH_METHOD"]
    cache = current_app.extensions.setdefault("dummy_password_hash", {})
    if method not in cache:
        cache[method] = generate_password_hash("not a real password", method=method)
    return cache[method]


def _session_digest(session_id):
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(user):
    """Record a new signed-in session for ``user`` and return its id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, id_digest=_session_digest(session_id)))
    db.session.commit()
    return session_id


def user_for_session(user_id, session_id):
    """Return the user of an unrevoked session, or None."""
    if not session_id or not isinstance(session_id, str):
        return None
    digest = _session_digest(session_id)
    record = db.session.scalar(
        db.select(UserSession).where(UserSession.id_digest == digest, UserSession.revoked_at.is_(None))
    )
    if record is None or str(record.user_id) != user_id:
        return None
    if not hmac.compare_digest(record.id_digest.encode(), digest.encode()):
        return None
    return db.session.get(User, record.user_id)


def end_session(session_id):
    """Revoke the session with this id, so its cookie no longer signs anyone in."""
    if not session_id or not isinstance(session_id, str):
        return
    record = db.session.scalar(db.select(UserSession).where(UserSession.id_digest == _session_digest(session_id)))
    if record is not None and record.revoked_at is None:
        record.revoked_at = clock.utcnow()
        db.session.commit()
