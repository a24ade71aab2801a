"""Business-hours durations: only the configured weekdays and hours count."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.config_metrics import BusinessHoursConfig
from handlers.config_types import WEEKDAYS


def business_seconds(start: datetime, end: datetime, hours: BusinessHoursConfig) -> float:
    """Seconds of business time between ``start`` and ``end`` (aware datetimes)."""
    if end <= start:
        return 0.0
    tz = ZoneInfo(hours.timezone)
    open_min, close_min = hours.minutes()
    workdays = {WEEKDAYS.index(d) for d in hours.weekdays}
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    total = 0.0
    while day <= local_end.date():
        if day.weekday() in workdays:
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            opens = midnight + timedelta(minutes=open_min)
            closes = midnight + timedelta(minutes=close_min)
            lo, hi = max(opens, local_start), min(closes, local_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total
