"""Fill a benchmark database: users, many tokens in bulk, and the tokens the load uses."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask import current_app

import accounts
import clock
import token_service
from extensions import db
from models import ApiToken, User

BATCH_SIZE = 10_000
BENCH_LIFETIME = timedelta(days=90)


def create_user(app, email, password):
    """Create a user with a personal workspace and return the user's id."""
    with app.app_context():
        return accounts.create_user(email, "", password).id


def _token_rows(user_id, count, secret_box, now):
    """Yield ``count`` rows of api_token, alternating Hex Keys and JWT Tokens.

    The values are random and thrown away. A Hex Key row gets the digest and encrypted
    copy that ``token_service.create_token`` would store; a JWT row gets a ``jti`` and the
    last four characters of that ``jti`` in place of the unknown token's.
    """
    expires_at = now + BENCH_LIFETIME
    for index in range(count):
        row = {
            "user_id": user_id,
            "name": f"Bench token {index}",
            "description": "",
            "created_at": now,
            "expires_at": expires_at,
            "revoked_at": None,
            "secret_digest": None,
            "secret_encrypted": None,
            "endpoint_id": None,
            "jti": None,
        }
        if index % 2 == 0:
            value = secrets.token_hex(16)
            digest = hashlib.sha256(value.encode()).hexdigest()
            row.update(
                kind="hex",
                secret_digest=digest,
                secret_encrypted=secret_box.seal(value, digest.encode()),
                endpoint_id=secrets.token_hex(16),
                last_four=value[-4:],
            )
        else:
            jti = uuid.uuid4().hex
            row.update(kind="jwt", jti=jti, last_four=jti[-4:])
        yield row


def insert_tokens(app, user_id, count):
    """Insert ``count`` active tokens for the user with one Core executemany per batch."""
    with app.app_context():
        secret_box = current_app.extensions["token_keys"].secret_box
        rows = _token_rows(user_id, count, secret_box, clock.utcnow())
        statement = ApiToken.__table__.insert()
        with db.engine.begin() as connection:
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == BATCH_SIZE:
                    connection.execute(statement, batch)
                    batch = []
            if batch:
                connection.execute(statement, batch)


def issue_token(app, user_id, kind, name):
    """Create a token the normal way and return (value, endpoint id or None).

    The value stays in the memory of the caller, which passes it to wrk in an
    environment variable and never prints it.
    """
    with app.app_context(), app.test_request_context(base_url="http://127.0.0.1"):
        user = db.session.get(User, user_id)
        issued = token_service.create_token(user, name, kind, "90d")
        return issued.value, issued.token.endpoint_id


def count_tokens(app):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(ApiToken))
