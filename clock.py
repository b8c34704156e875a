"""The current time, in one place, so that tests can move it."""

from datetime import datetime, timedelta, timezone

# Added to the real time. Tests shift it to expire tokens without waiting.
_offset = timedelta(0)


def utcnow():
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc) + _offset


def shift(delta):
    """Move the clock forward by ``delta`` (a timedelta) for the whole process."""
    global _offset
    _offset += delta


def reset():
    """Put the clock back to the real time."""
    global _offset
    _offset = timedelta(0)
