"""Config for metrics and reports: ``[sla]``, ``[business_hours]`` and ``[reports]``.

[sla.high]
first_response = "30m"
resolution = "4h"

[business_hours]
timezone = "Europe/Berlin"
weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]
start = "09:00"
end = "17:00"

[reports]
weekly_cron = "0 9 * * mon"
channel = "managers"
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from handlers.config_types import WEEKDAYS, Duration, StrictModel, TimeZoneName

_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class SlaTarget(StrictModel):
    """Targets for one severity; a missing target is not measured."""

    first_response: Duration | None = None
    resolution: Duration | None = None


class SlaConfig(StrictModel):
    """``[sla.<severity>]`` tables."""

    low: SlaTarget | None = None
    normal: SlaTarget | None = None
    high: SlaTarget | None = None
    critical: SlaTarget | None = None

    def targets(self) -> dict[str, SlaTarget]:
        return {
            sev: target
            for sev in ("low", "normal", "high", "critical")
            if (target := getattr(self, sev)) is not None
        }


class BusinessHoursConfig(StrictModel):
    """When the team works; business-hours durations count only this time."""

    timezone: TimeZoneName = "UTC"
    weekdays: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    start: str = "09:00"
    end: str = "17:00"

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d.lower() not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown weekday {bad[0]!r} (use {', '.join(WEEKDAYS)})")
        return [d.lower() for d in value]

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day (use HH:MM, e.g. '09:00')")
        return value

    def describe(self) -> str:
        """E.g. ``Europe/Berlin, Mon-Fri 09:00-17:00`` or ``UTC, every day 08:00-20:00``."""
        idx = sorted(WEEKDAYS.index(d) for d in self.weekdays)
        if len(idx) == 7:
            days = "every day"
        elif idx and idx == list(range(idx[0], idx[-1] + 1)):
            days = f"{WEEKDAYS[idx[0]][:3].title()}-{WEEKDAYS[idx[-1]][:3].title()}"
        else:
            days = ", ".join(WEEKDAYS[i][:3].title() for i in idx) or "no days"
        return f"{self.timezone}, {days} {self.start}-{self.end}"

    def minutes(self) -> tuple[int, int]:
        (sh, sm), (eh, em) = (map(int, t.split(":")) for t in (self.start, self.end))
        return sh * 60 + sm, eh * 60 + em


class ReportsConfig(StrictModel):
    """The weekly digest: when (5-field cron, UTC) and to which channel."""

    weekly_cron: str | None = "0 9 * * mon"
    channel: str | None = None

    @field_validator("weekly_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a 5-field cron expression (e.g. '0 9 * * mon')")
        return value
