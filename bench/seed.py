"""Fill a benchmark database: users, many tokens in bulk, and the tokens the load uses."""

import hashlib
import itertools
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


TOKEN_COLUMNS = (
    "user_id", "kind", "name", "description", "created_at", "expires_at", "revoked_at",
    "last_four", "secret_digest", "secret_encrypted", "endpoint_id", "jti",
)


def _token_rows(user_id, count, secret_box, created_at, expires_at):
    """Yield ``count`` rows of api_token as tuples in TOKEN_COLUMNS order.

    Hex Keys and JWT Tokens alternate. The values are random and thrown away. A Hex Key
    row gets the digest and encrypted copy that ``token_service.create_token`` would
    store. A JWT row gets a ``jti``, and the last four characters of that ``jti`` stand in
    for those of the token, which is never encoded.
    """
    for index in range(count):
        name = f"Bench token {index}"
        if index % 2 == 0:
            value = secrets.token_hex(16)
            digest = hashlib.sha256(value.encode()).hexdigest()
            sealed = secret_box.seal(value, digest.encode())
            yield (user_id, "hex", name, "", created_at, expires_at, None,
                   value[-4:], digest, sealed, secrets.token_hex(16), None)
        else:
            jti = uuid.uuid4().hex
            yield (user_id, "jwt", name, "", created_at, expires_at, None,
                   jti[-4:], None, None, None, jti)


def insert_tokens(app, user_id, count):
    """Insert ``count`` active tokens for the user, in batches of plain DB-API executemany.

    The two datetimes are converted to their stored form once, and the rows bypass
    SQLAlchemy's per-row parameter processing, which took most of the seeding time. The
    placeholders are SQLite's, so this seeds SQLite databases only.
    """
    with app.app_context():
        secret_box = current_app.extensions["token_keys"].secret_box
        dialect = db.engine.dialect
        if dialect.name != "sqlite":
            raise ValueError(f"insert_tokens seeds SQLite only, not {dialect.name}.")
        to_stored = ApiToken.__table__.c.created_at.type.bind_processor(dialect)
        now = clock.utcnow()
        rows = _token_rows(user_id, count, secret_box, to_stored(now), to_stored(now + BENCH_LIFETIME))
        sql = (f"INSERT INTO api_token ({', '.join(TOKEN_COLUMNS)}) "
               f"VALUES ({', '.join('?' for _ in TOKEN_COLUMNS)})")
        with db.engine.begin() as connection:
            cursor = connection.connection.cursor()
            while batch := list(itertools.islice(rows, BATCH_SIZE)):
                cursor.executemany(sql, batch)
            cursor.close()


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
