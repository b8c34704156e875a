"""Configuration: one class of defaults, overridden by environment variables.

Every variable is parsed strictly. A bad value raises ``ConfigError`` naming the
variable and the fix, so the app stops at start-up instead of failing later.
"""

import json
import logging
import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "production")

# Keys that the app cannot run without. In development a missing key is generated once
# and kept in the instance folder; in production the app refuses to start without it.
REQUIRED_KEYS = {
    "SECRET_KEY": "signs session cookies and CSRF tokens",
    "TOKEN_ENCRYPTION_KEY": "encrypts stored webhook secrets (32 random bytes, urlsafe base64)",
    "JWT_SIGNING_KEY": "signs JWT Tokens (at least 32 random bytes, urlsafe base64)",
}
# Keys that only verify or decrypt, left over after a rotation (see ``flask keys``).
RETIRED_KEYS = ("JWT_RETIRED_SIGNING_KEYS", "TOKEN_RETIRED_ENCRYPTION_KEYS")
DEV_KEYS_FILE = "dev-keys.json"


class ConfigError(RuntimeError):
    """A configuration value is missing or invalid."""


class Config:
    """Defaults for every setting. Environment variables of the same name override them."""

    APP_ENV = "development"
    SECRET_KEY = None
    TOKEN_ENCRYPTION_KEY = None
    JWT_SIGNING_KEY = None
    # Comma-separated keys that still verify JWTs signed before a rotation.
    JWT_RETIRED_SIGNING_KEYS = ""
    # Comma-separated keys that still decrypt secrets encrypted before a rotation.
    TOKEN_RETIRED_ENCRYPTION_KEYS = ""
    JWT_ISSUER = "exponential"
    # None means a SQLite file in the instance folder.
    DATABASE_URL = None
    # Base of the webhook URLs shown to users, such as https://app.example.com.
    # None means the host of the request that created the token.
    PUBLIC_BASE_URL = None
    TOKENS_PER_PAGE = 25
    # Base URL of Fireflies' GraphQL API; tests point it at a local fake server.
    FIREFLIES_API_URL = "https://api.fireflies.ai"
    # Where background jobs queue: None for a SQLite file in the instance folder,
    # or redis://host:port/db.
    JOB_QUEUE_URL = None
    # The queue's name, which prefixes its keys in Redis; instances that share work share it.
    JOB_QUEUE_NAME = "exponential"
    # Attempts at fetching a transcript before the meeting is marked failed.
    FETCH_MAX_ATTEMPTS = 8
    # Origins allowed to call the JSON API from a browser: "*" or a comma-separated list.
    CORS_ORIGINS = "*"
    # Oldest V2 delivery timestamp accepted, in seconds; Fireflies retries failed deliveries.
    WEBHOOK_MAX_AGE = 24 * 60 * 60
    # Bytes of an accepted delivery's body kept in the webhook delivery log.
    WEBHOOK_LOG_BODY_LIMIT = 16 * 1024
    # Days that webhook delivery log entries are kept before `flask webhook-log prune` or
    # the periodic job deletes them.
    WEBHOOK_LOG_RETENTION_DAYS = 30
    # Upper bound for any request body, in bytes. Larger bodies get 413.
    MAX_CONTENT_LENGTH = 1024 * 1024
    # werkzeug's password hash method; see werkzeug.security.generate_password_hash.
    PASSWORD_HASH_METHOD = "scrypt"
    # Create or upgrade the database schema when the app starts.
    AUTO_MIGRATE = True
    # Seconds of Strict-Transport-Security to send; 0 sends none. Set it when served over HTTPS.
    HSTS_MAX_AGE = 0
    # Number of reverse proxies in front of the app that set X-Forwarded-For, -Proto and
    # -Host. 0 ignores those headers, so a client cannot choose the address it is seen from.
    TRUSTED_PROXY_COUNT = 0

    # Rate limits (see rate_limits.py). Storage: memory:// per process, or redis://host:port/db.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    # Prepended to every rate-limit key, so that several apps can share one Redis database.
    RATELIMIT_KEY_PREFIX = ""
    RATELIMIT_HEADERS_ENABLED = True
    # When Redis is unreachable, count in memory per process instead of failing requests.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    SIGNIN_IP_RATE_LIMIT = "30 per 15 minutes"
    SIGNIN_ACCOUNT_RATE_LIMIT = "10 per 15 minutes"
    SIGNUP_RATE_LIMIT = "10 per hour"
    TOKEN_CREATE_RATE_LIMIT = "60 per hour"
    BEARER_FAILURE_RATE_LIMIT = "60 per minute"
    WEBHOOK_RATE_LIMIT = "300 per minute"

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"


def _parse_int(name, raw, minimum=1):
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _parse_bool(name, raw):
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}.")


PARSERS = {
    "APP_ENV": None,
    "SECRET_KEY": None,
    "TOKEN_ENCRYPTION_KEY": None,
    "JWT_SIGNING_KEY": None,
    "JWT_RETIRED_SIGNING_KEYS": None,
    "TOKEN_RETIRED_ENCRYPTION_KEYS": None,
    "JWT_ISSUER": None,
    "DATABASE_URL": None,
    "PUBLIC_BASE_URL": None,
    "TOKENS_PER_PAGE": _parse_int,
    "FIREFLIES_API_URL": None,
    "JOB_QUEUE_URL": None,
    "JOB_QUEUE_NAME": None,
    "FETCH_MAX_ATTEMPTS": _parse_int,
    "CORS_ORIGINS": None,
    "WEBHOOK_MAX_AGE": _parse_int,
    "WEBHOOK_LOG_BODY_LIMIT": lambda name, raw: _parse_int(name, raw, minimum=0),
    "WEBHOOK_LOG_RETENTION_DAYS": _parse_int,
    "MAX_CONTENT_LENGTH": _parse_int,
    "PASSWORD_HASH_METHOD": None,
    "AUTO_MIGRATE": _parse_bool,
    "HSTS_MAX_AGE": lambda name, raw: _parse_int(name, raw, minimum=0),
    "TRUSTED_PROXY_COUNT": lambda name, raw: _parse_int(name, raw, minimum=0),
    "RATELIMIT_ENABLED": _parse_bool,
    "RATELIMIT_STORAGE_URI": None,
    "RATELIMIT_KEY_PREFIX": None,
    "SIGNIN_IP_RATE_LIMIT": None,
    "SIGNIN_ACCOUNT_RATE_LIMIT": None,
    "SIGNUP_RATE_LIMIT": None,
    "TOKEN_CREATE_RATE_LIMIT": None,
    "BEARER_FAILURE_RATE_LIMIT": None,
    "WEBHOOK_RATE_LIMIT": None,
}


def read_environment(environ=None):
    """Return the settings given by environment variables, parsed.

    A ``.env`` file in the working directory is read first; variables already set in
    the environment win over it.
    """
    if environ is None:
        load_dotenv(override=False)
        environ = os.environ

    settings = {}
    for name, parse in PARSERS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        settings[name] = parse(name, raw) if parse else raw
    return settings


def finish_config(app):
    """Check the merged configuration and fill in what can be derived from it."""
    config = app.config
    if config["APP_ENV"] not in ENVIRONMENTS:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {config['APP_ENV']!r}."
        )

    missing = [name for name in REQUIRED_KEYS if not config.get(name)]
    if missing and config["APP_ENV"] == "production":
        details = "; ".join(f"{name} {REQUIRED_KEYS[name]}" for name in missing)
        raise ConfigError(
            f"Missing required setting(s) in production: {details}. "
            "Set them as environment variables or in a .env file."
        )
    if missing:
        _fill_development_keys(app, missing)
        for name in RETIRED_KEYS:
            if not config.get(name):
                config[name] = read_development_keys(app).get(name, "")

    if not config.get("SQLALCHEMY_DATABASE_URI"):
        url = config.get("DATABASE_URL")
        if not url:
            url = "sqlite:///" + str(Path(app.instance_path) / "exponential.sqlite")
        config["SQLALCHEMY_DATABASE_URI"] = _with_driver(url)
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Check a pooled connection before using it, so that a database restart or an idle
        # timeout costs a reconnect instead of a failed request.
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("pool_pre_ping", True)

    if config["APP_ENV"] == "production":
        # Production is served over HTTPS, so cookies never travel over plain HTTP.
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True


def _with_driver(url):
    """Name the psycopg driver in a PostgreSQL URL that names none (SQLAlchemy would pick psycopg2)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def development_keys_path(app):
    return Path(app.instance_path) / DEV_KEYS_FILE


def read_development_keys(app):
    path = development_keys_path(app)
    return json.loads(path.read_text()) if path.exists() else {}


def write_development_keys(app, keys):
    """Write the development key file, readable by its owner only."""
    path = development_keys_path(app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2) + "\n")


def _fill_development_keys(app, missing):
    """Load development keys from the instance folder, generating those not there yet."""
    stored = read_development_keys(app)
    path = development_keys_path(app)

    generated = [name for name in missing if name not in stored]
    for name in generated:
        stored[name] = secrets.token_urlsafe(32)
    if generated:
        write_development_keys(app, stored)
        log.warning(
            "Generated development key(s) %s into %s. Set them as environment "
            "variables before running in production.",
            ", ".join(generated),
            path,
        )

    for name in missing:
        app.config[name] = stored[name]
