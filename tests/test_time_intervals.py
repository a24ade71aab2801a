"""Quiet hours: which moments are inside a named interval, and when it ends."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.config import TimeIntervalConfig, TimeRange
from handlers.time_intervals import is_active, quiet_until

NIGHTS = TimeIntervalConfig(
    name="nights",
    timezone="Europe/Berlin",
    weekdays=["monday:friday"],
    times=[TimeRange(start="18:00", end="08:00")],
)
WEEKEND = TimeIntervalConfig(name="weekend", weekdays=["saturday:sunday"], timezone="Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_evening_in_berlin_is_quiet_until_the_morning() -> None:
    tuesday_2130_berlin = utc(2026, 3, 3, 20, 30)  # CET = UTC+1
    assert is_active(NIGHTS, tuesday_2130_berlin)
    assert quiet_until([NIGHTS], tuesday_2130_berlin) == utc(2026, 3, 4, 7, 0)
    assert quiet_until([NIGHTS], utc(2026, 3, 4, 9, 0)) is None


def test_friday_night_runs_into_the_weekend_until_monday_morning() -> None:
    friday_2300_berlin = utc(2026, 3, 6, 22, 0)
    assert quiet_until([NIGHTS, WEEKEND], friday_2300_berlin) == utc(2026, 3, 9, 7, 0)


def test_weekday_only_interval_and_summer_time() -> None:
    assert not is_active(WEEKEND, utc(2026, 3, 6, 12, 0))  # friday
    assert is_active(WEEKEND, utc(2026, 3, 7, 0, 30))  # saturday 01:30 in Berlin
    # after the switch to summer time (UTC+2) the night ends at 06:00 UTC
    assert quiet_until([NIGHTS], utc(2026, 4, 7, 20, 0)) == utc(2026, 4, 8, 6, 0)
