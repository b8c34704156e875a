"""Issue, verify and revoke API tokens.

Two kinds exist. A Hex Key is 32 lowercase hex characters (128 random bits) and serves
as a Fireflies webhook secret or as a Bearer token. A JWT Token is signed with HS256
under a dedicated key and serves as a Bearer token. Every check reads the token's row,
so a revoked token fails on the very next request in every process.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

import jwt
from flask import current_app, has_request_context, request, url_for
from sqlalchemy import bindparam, or_, select, update

import clock
from extensions import db
from models import ApiToken, TokenEvent, User, token_status
from secretbox import SecretBox, decode_key, decode_keys

log = logging.getLogger(__name__)

KIND_LABELS = {"hex": "Hex Key", "jwt": "JWT Token"}

# Choices of the "Expires In" field, in the order shown.
LIFETIMES = {
    "1h": ("1 hour", timedelta(hours=1)),
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    "90d": ("90 days", timedelta(days=90)),
}

JWT_ALGORITHM = "HS256"
# Allowed clock difference between this server and the one that checks a JWT, in seconds.
JWT_LEEWAY = 30
JWT_REQUIRED_CLAIMS = ["iss", "sub", "iat", "nbf", "exp", "jti"]

HEX_KEY_PATTERN = re.compile(r"[0-9a-f]{32}")

# Built once, so that SQLAlchemy reuses the compiled SQL: every Bearer request runs one of
# these selects on a pooled connection, with the owner's columns joined in, instead of
# loading ORM entities and then the user lazily.
_tokens = ApiToken.__table__
_users = User.__table__
_BEARER_SELECT = select(
    _tokens.c.id, _tokens.c.user_id, _tokens.c.kind, _tokens.c.name, _tokens.c.secret_digest,
    _tokens.c.expires_at, _tokens.c.revoked_at, _tokens.c.last_used_at,
    _users.c.email, _users.c.name.label("user_name"),
).join(_users, _users.c.id == _tokens.c.user_id)
_HEX_LOOKUP = _BEARER_SELECT.where(_tokens.c.secret_digest == bindparam("digest"), _tokens.c.kind == "hex")
_JWT_LOOKUP = _BEARER_SELECT.where(_tokens.c.jti == bindparam("jti"), _tokens.c.kind == "jwt")
# Written only when the stored time is older than this, so most requests stay read-only.
LAST_USED_RESOLUTION = timedelta(seconds=60)
_RECORD_USE = (
    update(_tokens)
    .where(
        _tokens.c.id == bindparam("token_id"),
        or_(_tokens.c.last_used_at.is_(None), _tokens.c.last_used_at < bindparam("cutoff")),
    )
    .values(last_used_at=bindparam("now"), last_used_ip=bindparam("ip"))
)


class InvalidToken(Exception):
    """A presented token is missing, malformed, unknown, expired or revoked."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class IssuedToken:
    token: ApiToken
    # The value, shown to the user once and stored nowhere.
    value: str


@dataclass(frozen=True)
class BearerUser:
    """The owner of an authenticated Bearer token."""

    id: int
    email: str
    name: str


@dataclass(frozen=True)
class BearerToken:
    """The columns of an authenticated Bearer token that the API reads."""

    id: int
    user_id: int
    kind: str
    name: str
    expires_at: datetime
    revoked_at: Optional[datetime]


@dataclass
class TokenKeys:
    secret_box: SecretBox
    # The current JWT signing key and its id; new tokens are signed with it.
    jwt_key: bytes
    jwt_key_id: str
    # Every key that verifies, current and retired, by key id (the JWT "kid" header).
    jwt_verification_keys: dict


def jwt_key_id(key):
    return hashlib.sha256(key).hexdigest()[:16]


def init_app(app):
    """Decode the token key rings from configuration; a bad key stops start-up."""
    config = app.config
    jwt_key = decode_key("JWT_SIGNING_KEY", config["JWT_SIGNING_KEY"])
    retired_jwt_keys = decode_keys("JWT_RETIRED_SIGNING_KEYS", config.get("JWT_RETIRED_SIGNING_KEYS"))
    encryption_key = decode_key("TOKEN_ENCRYPTION_KEY", config["TOKEN_ENCRYPTION_KEY"])
    retired_encryption_keys = decode_keys(
        "TOKEN_RETIRED_ENCRYPTION_KEYS", config.get("TOKEN_RETIRED_ENCRYPTION_KEYS")
    )
    app.extensions["token_keys"] = TokenKeys(
        secret_box=SecretBox(encryption_key, retired_encryption_keys),
        jwt_key=jwt_key,
        jwt_key_id=jwt_key_id(jwt_key),
        jwt_verification_keys={jwt_key_id(key): key for key in [*retired_jwt_keys, jwt_key]},
    )


def _keys():
    return current_app.extensions["token_keys"]


def hex_digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def create_token(user, name, kind, lifetime, description=""):
    """Create a token for ``user`` and return it with its value, which is not kept."""
    if kind not in KIND_LABELS:
        raise ValueError(f"Unknown token kind {kind!r}; expected one of {', '.join(KIND_LABELS)}.")
    if lifetime not in LIFETIMES:
        raise ValueError(f"Unknown lifetime {lifetime!r}; expected one of {', '.join(LIFETIMES)}.")

    now = clock.utcnow()
    token = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        description=description,
        created_at=now,
        expires_at=now + LIFETIMES[lifetime][1],
    )
    if kind == "hex":
        value = secrets.token_hex(16)
        token.secret_digest = hex_digest(value)
        token.secret_encrypted = _keys().secret_box.seal(value, token.secret_digest.encode())
        token.endpoint_id = secrets.token_hex(16)
    else:
        token.jti = uuid.uuid4().hex
        value = _encode_jwt(user, token)
    token.last_four = value[-4:]

    db.session.add(token)
    db.session.flush()
    db.session.add(TokenEvent(user_id=user.id, token_id=token.id, kind="created", at=now))
    db.session.commit()
    log.info("Token created: id=%s user=%s kind=%s expires_at=%s",
             token.id, user.id, kind, token.expires_at.isoformat())
    return IssuedToken(token=token, value=value)


def closest_lifetime(token):
    """Return the LIFETIMES key nearest to the token's own lifetime, for "Create similar"."""
    lifetime = token.expires_at - token.created_at
    return min(LIFETIMES, key=lambda key: abs(LIFETIMES[key][1] - lifetime))


def _encode_jwt(user, token):
    claims = {
        "iss": current_app.config["JWT_ISSUER"],
        "sub": str(user.id),
        "email": user.email,
        "name": user.name,
        "iat": token.created_at,
        "nbf": token.created_at,
        "exp": token.expires_at,
        "jti": token.jti,
    }
    keys = _keys()
    return jwt.encode(claims, keys.jwt_key, algorithm=JWT_ALGORITHM,
                      headers={"kid": keys.jwt_key_id})


def revoke_token(token):
    """Mark the token revoked. It stays in the database for audit and cannot be restored."""
    if token.revoked_at is None:
        token.revoked_at = clock.utcnow()
        db.session.add(TokenEvent(user_id=token.user_id, token_id=token.id, kind="revoked", at=token.revoked_at))
        db.session.commit()
        log.info("Token revoked: id=%s user=%s", token.id, token.user_id)


def webhook_secret(token):
    """Return the plaintext secret of a Hex Key, for checking webhook signatures."""
    return _keys().secret_box.unseal(token.secret_encrypted, token.secret_digest.encode())


def webhook_url(token):
    """Return the URL that Fireflies should post to for this Hex Key."""
    path = url_for("webhooks.fireflies", endpoint_id=token.endpoint_id)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + path
    return url_for("webhooks.fireflies", endpoint_id=token.endpoint_id, _external=True)


def parse_bearer(header):
    """Return the token from an Authorization header value, or raise InvalidToken.

    The scheme is matched without regard to case and surrounding spaces are ignored.
    """
    if header is None or not header.strip():
        raise InvalidToken("missing", "Send the token in an 'Authorization: Bearer <token>' header.")
    if not header.isascii():
        raise InvalidToken("malformed", "The Authorization header must contain only ASCII characters.")

    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer":
        raise InvalidToken("malformed", "Use the Bearer scheme: 'Authorization: Bearer <token>'.")
    if len(value.split()) != 1:
        raise InvalidToken("malformed", "The Authorization header must contain exactly one token after 'Bearer'.")
    return value


def authenticate(value, source_ip=None):
    """Return the active (BearerUser, BearerToken) for a Bearer token value, or raise InvalidToken.

    Every call reads the token's row, so a revocation takes effect on the next request. The
    token's last use is written at most once per LAST_USED_RESOLUTION.
    """
    if HEX_KEY_PATTERN.fullmatch(value):
        digest = hex_digest(value)
        row = _fetch_one(_HEX_LOOKUP, digest=digest)
        # The database matched the digest; compare again in constant time, as every check does.
        if row is not None and not hmac.compare_digest(row.secret_digest.encode(), digest.encode()):
            row = None
    elif value.count(".") == 2:
        row = _row_for_jwt(value)
    else:
        raise InvalidToken("malformed", "The token is neither a Hex Key nor a JWT.")

    if row is None:
        raise InvalidToken("unknown", "The token is not valid.")
    token = BearerToken(
        id=row.id, user_id=row.user_id, kind=row.kind, name=row.name,
        expires_at=row.expires_at, revoked_at=row.revoked_at,
    )
    try:
        _check_usable(token)
    except InvalidToken as error:
        record_event(token, f"rejected_{error.reason}", source_ip, once_per=LAST_USED_RESOLUTION)
        raise
    now = clock.utcnow()
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
        _record_use(token, row.last_used_at is None, source_ip, now)
    return BearerUser(id=row.user_id, email=row.email, name=row.user_name), token


def _record_use(token, first, source_ip, now):
    """Store the time and address of this use; log a first_used event for a first use."""
    with db.engine.connect() as connection:
        updated = connection.execute(_RECORD_USE, {
            "token_id": token.id, "cutoff": now - LAST_USED_RESOLUTION, "now": now, "ip": source_ip,
        }).rowcount
        connection.commit()
    if updated and first:
        record_event(token, "first_used", source_ip)


def record_event(token, kind, source_ip=None, once_per=None):
    """Store a TokenEvent; with ``once_per``, skip it if the same event is more recent than that."""
    now = clock.utcnow()
    if once_per is not None:
        recent = db.session.scalar(
            select(TokenEvent.id).where(
                TokenEvent.token_id == token.id, TokenEvent.kind == kind, TokenEvent.at > now - once_per,
            ).limit(1)
        )
        if recent is not None:
            return
    db.session.add(TokenEvent(user_id=token.user_id, token_id=token.id, kind=kind, at=now, source_ip=source_ip))
    db.session.commit()


def _fetch_one(statement, **parameters):
    with db.engine.connect() as connection:
        return connection.execute(statement, parameters).first()


def _row_for_jwt(value):
    keys = _keys()
    try:
        header = _unverified_header(value)
    except ValueError:
        raise InvalidToken("malformed", "The JWT could not be decoded.") from None
    key = keys.jwt_verification_keys.get(header.get("kid"))
    if key is None:
        raise InvalidToken("unknown", "The JWT was not signed by a key this server knows.")

    try:
        # One decode_complete parses and checks the token once; PyJWT 2.x checks every
        # base64url character in Python, so parsing it a second time would double that cost.
        decoded = jwt.decode_complete(
            value,
            key,
            algorithms=[JWT_ALGORITHM],
            issuer=current_app.config["JWT_ISSUER"],
            leeway=JWT_LEEWAY,
            options={"require": JWT_REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        _record_expired_jwt(value, key)
        raise InvalidToken("expired", "The token has expired. Create a new one on the Tokens page.") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("unknown", "The token is not valid.") from None

    claims = decoded["payload"]
    row = _fetch_one(_JWT_LOOKUP, jti=str(claims["jti"]))
    if row is not None and str(row.user_id) != claims["sub"]:
        return None
    return row


def _record_expired_jwt(value, key):
    """Store a rejected_expired event for a correctly signed JWT that has expired."""
    try:
        claims = jwt.decode(value, key, algorithms=[JWT_ALGORITHM], issuer=current_app.config["JWT_ISSUER"],
                            options={"verify_exp": False, "require": JWT_REQUIRED_CLAIMS})
    except jwt.InvalidTokenError:
        return
    row = _fetch_one(_JWT_LOOKUP, jti=str(claims["jti"]))
    if row is not None and str(row.user_id) == claims["sub"]:
        record_event(row, "rejected_expired", request.remote_addr if has_request_context() else None,
                     once_per=LAST_USED_RESOLUTION)


def _unverified_header(value):
    """Return the JOSE header of a JWT without checking anything, or raise ValueError.

    It only picks the key by "kid"; decode_complete then checks the whole token.
    """
    encoded = value.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError("The JWT header is not base64url-encoded JSON.") from error
    if not isinstance(header, dict):
        raise ValueError("The JWT header is not a JSON object.")
    return header


def _check_usable(token, now=None):
    status = token_status(token, now)
    if status == "revoked":
        raise InvalidToken("revoked", "The token has been revoked. Create a new one on the Tokens page.")
    if status == "expired":
        raise InvalidToken("expired", "The token has expired. Create a new one on the Tokens page.")


def find_user_tokens(user, before_id=None):
    """Return one page of the user's listed tokens and the id to continue before, if any."""
    per_page = current_app.config["TOKENS_PER_PAGE"]
    rows = ApiToken.listed_for(user.id, before_id=before_id, limit=per_page + 1)
    next_before = rows[per_page - 1].id if len(rows) > per_page else None
    return rows[:per_page], next_before


def user_by_email(email):
    user = User.find_by_email(email)
    if user is None:
        raise LookupError(f"No user with email {email!r}. Create one with 'flask --app app users create'.")
    return user
