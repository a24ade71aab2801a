"""The admin's configuration as validated data (loaded from TOML by ``bot.config_loader``).

Every model forbids unknown keys so a typo is an error naming the key, not a silent default.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from handlers.durations import parse_duration

Severity = Literal["low", "normal", "high", "critical"]
Role = Literal["staff", "manager", "admin"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "critical": 3}


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Strict):
    """One team channel, by name, with its destination on each platform.

    ``mode = "alerts-only"`` posts alerts but does not treat staff messages in their
    threads as replies to the customer.
    """

    slack: str | None = None
    discord: str | None = None
    description: str = ""
    mode: Literal["threads", "alerts-only"] = "threads"


class RuleConfig(_Strict):
    """A first-version alert rule: any keyword (whole word, case-insensitive) or CRM event kind.

    A rule with neither keywords nor crm_events matches every mention that passes its
    other filters.
    """

    name: str
    channel: str
    keywords: list[str] = Field(default_factory=list)
    crm_events: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    sentiment_below: float | None = Field(default=None, ge=-1, le=1)
    min_followers: int | None = Field(default=None, ge=0)
    severity: Severity = "normal"
    team: str | None = None


class StaffConfig(_Strict):
    """A staff member, with their identity on each chat platform."""

    name: str
    display_name: str = ""
    email: str | None = None
    team: str | None = None
    role: Role = "staff"
    slack: str | None = None
    discord: str | None = None
    console: str | None = None


class AlertsConfig(_Strict):
    """How mentions become conversations."""

    default_channel: str | None = None
    reopen_window: Duration = timedelta(hours=24)
    fallback_channel: str | None = None
    admin_channel: str | None = None


class ConsoleConfig(_Strict):
    """The console chat adapter: who is typing at the terminal."""

    user: str = "lead"


class CrmbotConfig(_Strict):
    """The whole configuration file."""

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)
    staff: list[StaffConfig] = Field(default_factory=list)
    alerts: AlertsConfig = AlertsConfig()
    console: ConsoleConfig = ConsoleConfig()

    @model_validator(mode="after")
    def _check_references(self) -> CrmbotConfig:
        problems: list[str] = []
        names = list(self.channels)
        for i, rule in enumerate(self.rules):
            if rule.channel not in self.channels:
                problems.append(f"rules[{i}].channel: {_unknown('channel', rule.channel, names)}")
        for key in ("default_channel", "fallback_channel", "admin_channel"):
            value = getattr(self.alerts, key)
            if value is not None and value not in self.channels:
                problems.append(f"alerts.{key}: {_unknown('channel', value, names)}")
        seen: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            if rule.name in seen:
                problems.append(
                    f"rules[{i}].name: duplicate rule name {rule.name!r} "
                    f"(also rules[{seen[rule.name]}])"
                )
            seen.setdefault(rule.name, i)
        staff_seen: set[str] = set()
        for i, member in enumerate(self.staff):
            if member.name in staff_seen:
                problems.append(f"staff[{i}].name: duplicate staff name {member.name!r}")
            staff_seen.add(member.name)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}"
