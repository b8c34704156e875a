"""Respond with 503 and Retry-After when the database cannot be reached, instead of 500.

A lost connection is temporary and the client should try again: Fireflies retries a
delivery that did not get a 2xx, and nothing was stored for it. The first error of an
outage is logged with its message; repeats within a minute are counted, not logged.
"""

import logging
import threading
import time

import psycopg
from sqlalchemy import exc as sqlalchemy_errors

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before it tries again.
RETRY_AFTER_SECONDS = 5
# Seconds during which further errors are counted instead of logged.
LOG_INTERVAL_SECONDS = 60

_lock = threading.Lock()
_last_logged = None
_suppressed = 0


def is_unavailable(error):
    """Return True if ``error`` means the database is unreachable or too busy right now.

    That is any OperationalError (connection refused or lost, server shutting down, SQLite
    "database is locked" after the busy timeout), any other DBAPIError that invalidated its
    connection, and a pool that had no free connection within its timeout.
    """
    if isinstance(error, (sqlalchemy_errors.OperationalError, psycopg.OperationalError)):
        return True
    if isinstance(error, sqlalchemy_errors.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sqlalchemy_errors.TimeoutError)


def log_unavailable(error, where):
    """Log a database error once per interval, with the number of repeats left unlogged."""
    global _last_logged, _suppressed
    now = time.monotonic()
    with _lock:
        if _last_logged is not None and now - _last_logged < LOG_INTERVAL_SECONDS:
            _suppressed += 1
            return
        repeats, _suppressed, _last_logged = _suppressed, 0, now
    # The first line of the message names what failed, and the rest contains the SQL statement.
    message = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if repeats:
        log.warning("Database unavailable on %s: %s: %s (and %d more such errors in the previous %d s)",
                    where, type(error).__name__, message, repeats, LOG_INTERVAL_SECONDS)
    else:
        log.warning("Database unavailable on %s: %s: %s", where, type(error).__name__, message)


def retry_after_headers():
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
