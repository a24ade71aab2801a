"""Field types and the base model every ``crmbot.toml`` section shares (handlers/config.py
and the handlers/config_*.py sections import them from here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict

from handlers.durations import parse_duration

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class StrictModel(BaseModel):
    """A config table: unknown keys are errors, values are frozen, and a field with an
    alias (``continue``) may also be given by its Python name."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


def _check_timezone(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f"a time zone is a name like 'Europe/Berlin', not {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use e.g. 'Europe/Berlin' or 'UTC')"
        ) from None
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A timedelta given as ``"90s"``, ``"30m"``, ``"4h"``, ``"1d"`` (or a number of seconds)."""

TimeZoneName = Annotated[str, BeforeValidator(_check_timezone)]
"""An IANA time zone name such as ``Europe/Berlin``."""
