"""Report periods as managers type them: ``7d``, ``30d``, ``24h``, ``2w``."""

from __future__ import annotations

from datetime import timedelta

from handlers.durations import parse_duration
from handlers.errors import UserError

DEFAULT_PERIOD = "7d"
MAX_PERIOD = timedelta(days=366)


def parse_period(text: str | None) -> tuple[str, timedelta]:
    """``(label, length)``; a bad period is a UserError that says what to type."""
    label = (text or DEFAULT_PERIOD).strip().lower()
    try:
        length = parse_duration(label)
    except ValueError:
        raise UserError(f"{label!r} is not a period. Use e.g. 24h, 7d, 30d or 12w.") from None
    if length <= timedelta(0) or length > MAX_PERIOD:
        raise UserError("The period must be between 1s and 366d.")
    return label, length
