"""Named time intervals (quiet hours): is a moment inside one, and when does it end."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.config import TimeIntervalConfig, TimeRange
from handlers.config_types import WEEKDAYS

_MAX_HOPS = 32


def _days(spec: list[str]) -> set[int]:
    days: set[int] = set()
    for item in spec:
        first, _, last = item.lower().partition(":")
        start = WEEKDAYS.index(first)
        end = WEEKDAYS.index(last) if last else start
        span = (end - start) % 7
        days.update((start + k) % 7 for k in range(span + 1))
    return days


def _hm(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    return time.max if hours == 24 else time(hours, minutes)


def _in_range(rng: TimeRange, moment: time) -> bool:
    start, end = _hm(rng.start), _hm(rng.end)
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # runs past midnight


def is_active(interval: TimeIntervalConfig, at: datetime) -> bool:
    """Whether ``at`` falls inside the interval (weekdays and times in its time zone)."""
    local = at.astimezone(ZoneInfo(interval.timezone))
    if interval.weekdays and local.weekday() not in _days(interval.weekdays):
        return False
    if not interval.times:
        return True
    moment = local.time()
    return any(_in_range(rng, moment) for rng in interval.times)


def _range_end(interval: TimeIntervalConfig, at: datetime) -> datetime:
    """When the part of the interval that contains ``at`` ends (at most at local midnight
    for weekday-only intervals)."""
    tz = ZoneInfo(interval.timezone)
    local = at.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
    ends: list[datetime] = []
    for rng in interval.times:
        if not _in_range(rng, local.time()):
            continue
        end = _hm(rng.end)
        end_at = midnight if end == time.max else datetime.combine(local.date(), end, tz)
        if end_at <= local:
            end_at += timedelta(days=1)
        ends.append(end_at)
    return min(ends) if ends else midnight


def quiet_until(intervals: list[TimeIntervalConfig], at: datetime) -> datetime | None:
    """The first moment at or after ``at`` that is in none of ``intervals``; None when
    ``at`` itself is outside them all."""
    moment = at
    for _ in range(_MAX_HOPS):
        active = [iv for iv in intervals if is_active(iv, moment)]
        if not active:
            return None if moment == at else moment
        moment = min(_range_end(iv, moment) for iv in active)
    return moment
