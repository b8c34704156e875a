"""Rate limits on guessing and flooding, with Flask-Limiter.

Storage is in memory by default (per process) and Redis when RATELIMIT_STORAGE_URI names
it, so that several processes share one count. A request over a limit gets 429 with
Retry-After. Each breach is logged once per limit, key and window, not once per request.
"""

import logging
import math
import threading
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from config import ConfigError

log = logging.getLogger(__name__)

# Settings that hold a limit, with what each one counts.
LIMIT_SETTINGS = {
    "SIGNIN_IP_RATE_LIMIT": "failed sign-in attempts per client IP",
    "SIGNIN_ACCOUNT_RATE_LIMIT": "failed sign-in attempts per email address",
    "SIGNUP_RATE_LIMIT": "sign-ups per client IP",
    "TOKEN_CREATE_RATE_LIMIT": "tokens created per user",
    "BEARER_FAILURE_RATE_LIMIT": "rejected Bearer tokens per client IP",
    "WEBHOOK_RATE_LIMIT": "requests per webhook URL",
}

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def init_app(app):
    for name in LIMIT_SETTINGS:
        try:
            parse(app.config[name])
        except ValueError:
            raise ConfigError(
                f"{name} must be a rate limit such as '10 per minute', got {app.config[name]!r}."
            ) from None
    app.config.setdefault("RATELIMIT_ON_BREACH_CALLBACK", log_breach)
    limiter.init_app(app)


def configured(name):
    """Return a callable that reads the limit ``name`` from the app's configuration."""
    return lambda: current_app.config[name]


def account_key():
    return "account:" + request.form.get("email", "").strip().lower()


def user_key():
    return f"user:{current_user.get_id()}"


def webhook_key():
    return "webhook:" + (request.view_args or {}).get("endpoint_id", "")


def failed(response):
    """Count a request against a failure limit only when it failed."""
    return response.status_code in (401, 422)


_logged_lock = threading.Lock()


def log_breach(request_limit):
    """Log a breached limit once per key and window."""
    _log_once(request_limit.limit, request_limit.key)
    return None


def _log_once(limit, key):
    window_index = int(time.time() // limit.get_expiry())
    entry = (key, window_index)
    # Kept per app, like the counts themselves when they are in memory.
    _logged_windows = current_app.extensions.setdefault("rate_limit_logged_windows", {})
    with _logged_lock:
        if entry in _logged_windows:
            return
        # Forget windows that have ended, so the record stays small.
        for stale in [old for old, index in _logged_windows.items() if index < window_index - 1]:
            del _logged_windows[stale]
        _logged_windows[entry] = window_index
    log.warning("Rate limit %s exceeded for %s on %s %s; further breaches in this window are not logged.",
                limit, key, request.method, request.path)


# Rejected Bearer tokens are counted by hand rather than through a Flask-Limiter decorator,
# which would add its bookkeeping to every API request, valid ones included. Here a valid
# request costs one read of the count, and a rejected one costs one write.
def _bearer_failure_limit():
    return parse(current_app.config["BEARER_FAILURE_RATE_LIMIT"])


def _bearer_failure_key(client_ip):
    """Return the count's identifiers, under RATELIMIT_KEY_PREFIX like Flask-Limiter's own keys."""
    return (current_app.config.get("RATELIMIT_KEY_PREFIX") or "", "bearer_failures", client_ip)


def bearer_retry_after(client_ip):
    """Return the seconds to wait if this address has too many rejected tokens, else None."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return None
    limit = _bearer_failure_limit()
    key = _bearer_failure_key(client_ip)
    try:
        if limiter.limiter.test(limit, *key):
            return None
        reset_at, _ = limiter.limiter.get_window_stats(limit, *key)
    except Exception:
        # The count is unavailable (Redis down, say): do not turn that into a failed request.
        log.exception("Could not read the rejected-token count of %s; not limiting this request.", client_ip)
        return None
    _log_once(limit, "/".join(key))
    return max(1, math.ceil(reset_at - time.time()))


def record_bearer_failure(client_ip):
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    try:
        limiter.limiter.hit(_bearer_failure_limit(), *_bearer_failure_key(client_ip))
    except Exception:
        log.exception("Could not count a rejected token of %s.", client_ip)
