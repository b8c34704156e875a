"""Create accounts and check passwords."""

import logging

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import Membership, User, Workspace

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
