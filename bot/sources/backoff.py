"""Backoff for failing pollers (:class:`bot.backoff.Backoff` in timedeltas, no jitter),
their schedule, and the platform's Retry-After header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.backoff import Backoff

MAX_RETRY_AFTER = timedelta(days=1)


def backoff_delay(
    failures: int, every: timedelta, cap: timedelta, retry_after: float | None = None
) -> timedelta:
    """How long to wait after the ``failures``-th failure in a row.

    ``every``, ``2*every``, ``4*every``, ... up to ``cap`` (never below ``every``); a
    Retry-After from the platform wins when it asks for longer (up to a day).
    """
    backoff = Backoff(
        base=every.total_seconds(),
        floor=every.total_seconds(),
        cap=cap.total_seconds(),
        jitter=0.0,
        max_retry_after=MAX_RETRY_AFTER.total_seconds(),
    )
    return timedelta(seconds=backoff.delay(failures, retry_after))


def due(next_attempt_at: datetime | None, now: datetime, every: timedelta) -> bool:
    """Whether a poll scheduled every ``every`` should run now.

    Half an interval of slack, so a scheduled run a moment before ``next_attempt_at``
    counts as that attempt instead of waiting a whole extra interval.
    """
    return next_attempt_at is None or now + every / 2 >= next_attempt_at


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """An HTTP Retry-After header (seconds or an HTTP date) as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
