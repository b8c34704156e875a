"""The current time, in one place, so that tests can move or stop it."""

from datetime import datetime, timedelta, timezone

# Added to the real time. Tests shift it to expire tokens without waiting.
_offset = timedelta(0)
# When set, the time that utcnow returns (plus the offset) until reset.
_frozen = None


def utcnow():
    """Return the current time as a timezone-aware UTC datetime."""
    base = _frozen if _frozen is not None else datetime.now(timezone.utc)
    return base + _offset


def shift(delta):
    """Move the clock forward by ``delta`` (a timedelta) for the whole process."""
    global _offset
    _offset += delta


def freeze(moment):
    """Stop the clock at ``moment``, a timezone-aware datetime, for the whole process."""
    global _frozen, _offset
    _frozen = moment
    _offset = timedelta(0)


def reset():
    """Put the clock back to the real time."""
    global _offset, _frozen
    _offset = timedelta(0)
    _frozen = None
