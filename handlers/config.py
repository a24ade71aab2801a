"""The admin's configuration as validated data (loaded from TOML by ``bot.config_loader``).

Modelled on what admins know from Prometheus Alertmanager and Sentry: **rules** decide
*what* is worth an alert and attach labels; ordered **routes** decide *where* it goes
(first match wins unless ``continue = true``), how it is grouped, when it is deferred
(quiet hours) and to whom it escalates. Every model forbids unknown keys, so a typo is
an error naming the key, never a silent default.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from handlers.config_crm import CrmConfig
from handlers.config_metrics import BusinessHoursConfig, ReportsConfig, SlaConfig
from handlers.config_replies import APPROVER_ROLES, RepliesConfig, ReplyMode, check_approvers
from handlers.config_sentiment import SentimentConfig
from handlers.config_sources import SourcesConfig
from handlers.config_suggestions import SuggestionsConfig
from handlers.config_types import WEEKDAYS, Duration, TimeZoneName
from handlers.config_types import StrictModel as _Strict
from handlers.query import QueryError, parse_query

Severity = Literal["low", "normal", "high", "critical"]
Role = Literal["staff", "manager", "admin"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "critical": 3}


class ChannelConfig(_Strict):
    """One team channel, by name, with its destination on each platform.

    ``mode = "alerts-only"`` posts alerts but does not treat staff messages in their
    threads as replies to the customer. ``max_posts_per_minute`` is the post budget
    (Slack allows about one message per second per channel); what goes over it is
    delivered in a digest, never dropped.
    """

    slack: str | None = None
    discord: str | None = None
    description: str = ""
    mode: Literal["threads", "alerts-only"] = "threads"
    max_posts_per_minute: int = Field(50, ge=1, le=600)
    # answering the customer from this channel's threads (docs/replies.md); unset: [replies]
    reply_mode: ReplyMode | None = None
    approvers: list[str] | None = None

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, value: list[str] | None) -> list[str] | None:
        return check_approvers(value)


class RuleConfig(_Strict):
    """What is worth an alert. Every condition given must hold (an empty rule matches all).

    ``keywords`` is a shorthand for ``query = 'a OR b OR "c d"'``; when both are given
    both must match.
    """

    name: str = Field(min_length=1)
    query: str | None = None
    keywords: list[str] = Field(default_factory=list)
    regex: str | None = None
    kinds: list[Literal["mention", "crm"]] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sentiment_min: float | None = Field(default=None, ge=-1, le=1)
    sentiment_max: float | None = Field(default=None, ge=-1, le=1)
    min_followers: int | None = Field(default=None, ge=0)
    min_influence: float | None = Field(default=None, ge=0, le=100)
    vip: bool | None = None
    crm_events: list[str] = Field(default_factory=list)
    min_amount: float | None = Field(default=None, ge=0)
    stage_to: list[str] = Field(default_factory=list)
    stage_from: list[str] = Field(default_factory=list)
    unclaimed_for: Duration | None = None
    severity: Severity = "normal"
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_query(value)
            except QueryError as exc:
                raise ValueError(f"bad query: {exc}") from None
        return value

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bad regex: {exc}") from None
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, value: list[str]) -> list[str]:
        if any(not k.strip() for k in value):
            raise ValueError("keywords must not be blank")
        return value

    @model_validator(mode="after")
    def _sentiment_range(self) -> RuleConfig:
        if (
            self.sentiment_min is not None
            and self.sentiment_max is not None
            and self.sentiment_min > self.sentiment_max
        ):
            raise ValueError("sentiment_min is above sentiment_max")
        return self


class SpikeConfig(_Strict):
    """A burst of mentions: the count in ``window`` against the trailing ``baseline``.

    Fires when the window count is at least ``min_count`` and either ``ratio`` times the
    baseline rate or ``sigma`` standard deviations above it; then stays quiet for
    ``cooldown``. ``query``/``sentiment_max``/``platforms`` filter what is counted.
    """

    name: str = Field(min_length=1)
    query: str | None = None
    platforms: list[str] = Field(default_factory=list)
    sentiment_max: float | None = Field(default=None, ge=-1, le=1)
    window: Duration = timedelta(minutes=10)
    baseline: Duration = timedelta(hours=24)
    ratio: float | None = Field(default=3.0, gt=1)
    sigma: float | None = Field(default=None, gt=0)
    min_count: int = Field(10, ge=1)
    cooldown: Duration = timedelta(hours=1)
    severity: Severity = "high"
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str | None) -> str | None:
        return RuleConfig._query_parses(value)

    @model_validator(mode="after")
    def _window_inside_baseline(self) -> SpikeConfig:
        if self.window >= self.baseline:
            raise ValueError("window must be shorter than baseline")
        if self.ratio is None and self.sigma is None:
            raise ValueError("give ratio, sigma or both")
        return self


class EscalationConfig(_Strict):
    """Re-post an alert nobody claimed within ``after`` to ``to``, mentioning ``mention``."""

    after: Duration
    to: str
    mention: list[str] = Field(default_factory=list)


class RouteConfig(_Strict):
    """Where alerts with matching labels go. ``match``: label equals value; ``match_re``:
    label matches the regex (whole value). No matchers: a catch-all."""

    name: str | None = None
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)
    channel: str
    continue_: bool = Field(False, alias="continue")
    group_by: list[str] = Field(default_factory=list)
    group_wait: Duration = timedelta(0)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration | None = None  # re-post still-unclaimed alerts this often
    quiet_hours: list[str] = Field(default_factory=list)
    escalate: EscalationConfig | None = None
    reply_mode: ReplyMode | None = None  # wins over the channels' for alerts it routed

    @field_validator("match_re")
    @classmethod
    def _regexes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex for label {label!r}: {exc}") from None
        return value

    @property
    def is_catch_all(self) -> bool:
        return not self.match and not self.match_re

    def label(self, index: int) -> str:
        return self.name or f"routes[{index}]"


class TimeRange(_Strict):
    """``start``-``end`` as HH:MM; an end before the start runs past midnight."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class TimeIntervalConfig(_Strict):
    """Named times (Alertmanager's time_intervals), used for quiet hours."""

    name: str = Field(min_length=1)
    timezone: TimeZoneName = "UTC"
    weekdays: list[str] = Field(default_factory=list)
    times: list[TimeRange] = Field(default_factory=list)

    @field_validator("weekdays")
    @classmethod
    def _weekdays_known(cls, value: list[str]) -> list[str]:
        for item in value:
            for day in item.lower().split(":"):
                if day not in WEEKDAYS:
                    raise ValueError(f"unknown weekday {day!r} (use e.g. 'monday:friday')")
        return value


class InhibitConfig(_Strict):
    """While an alert matching ``source_match`` is active, alerts matching ``target_match``
    with the same values of the ``equal`` labels are muted (folded into it)."""

    source_match: dict[str, str]
    target_match: dict[str, str] = Field(default_factory=dict)
    equal: list[str] = Field(default_factory=list)


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


class RolesConfig(_Strict):
    """Who may do what, by chat identity: ``"slack:U123"``, ``"discord:4567"``,
    ``"console:lead"`` or a platform group ``"slack-group:S0ADMINS"``,
    ``"discord-role:8910"``. The highest role found wins; staff[].role counts too."""

    admins: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    staff: list[str] = Field(default_factory=list)

    @field_validator("admins", "managers", "staff")
    @classmethod
    def _qualified(cls, value: list[str]) -> list[str]:
        for item in value:
            if ":" not in item:
                raise ValueError(f"{item!r} needs a platform prefix, e.g. 'slack:{item}'")
        return value


class DiscordConfig(_Strict):
    """Discord: the guilds (servers) whose ``/crm`` commands the bot keeps in sync."""

    guilds: list[str] = Field(default_factory=list)

    @field_validator("guilds")
    @classmethod
    def _snowflakes(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.isdigit():
                raise ValueError(f"{item!r} is not a Discord guild id (digits only)")
        return value


class GroupConfig(_Strict):
    """A group to notify by name in ``escalate.mention``: a Slack user group id (``S0123``)
    and/or a Discord role id."""

    slack: str | None = None
    discord: str | None = None


class AlertsConfig(_Strict):
    """How mentions become conversations, and the bot's own channels."""

    default_channel: str | None = None
    reopen_window: Duration = timedelta(hours=24)
    fallback_channel: str | None = None
    admin_channel: str | None = None
    timezone: TimeZoneName = "UTC"


class ConsoleConfig(_Strict):
    """The console chat adapter: who is typing at the terminal."""

    user: str = "lead"


class VipConfig(_Strict):
    """Authors who always matter: ``handles`` as ``"handle"`` or ``"platform:handle"``."""

    handles: list[str] = Field(default_factory=list)


class RetentionConfig(_Strict):
    """How long personal data is kept (``[retention]``); unset keeps it. A daily job erases
    mention texts and conversation titles (``mentions``), CRM event details
    (``crm_events``), suggestion texts (``suggestions``) and the texts of replies to
    customers that are finished (``replies``: published, rejected or failed; never one
    awaiting approval or still to publish) past their age, and deletes posted outbox rows
    (``outbox``; never one still waiting). Counts and metrics stay."""

    mentions: Duration | None = None
    crm_events: Duration | None = None
    outbox: Duration | None = None
    suggestions: Duration | None = None
    replies: Duration | None = None

    @field_validator("mentions", "crm_events", "outbox", "suggestions", "replies")
    @classmethod
    def _at_least_a_day(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=1):
            raise ValueError("keep data at least 1d (a shorter value is most likely a typo)")
        return value


class ConfigTest(_Strict):
    """A check run by ``crmbot check-config``: this event must reach exactly ``expect``."""

    name: str | None = None
    event: dict[str, Any]
    expect: list[str]


class CrmbotConfig(_Strict):
    """The whole configuration file."""

    alerts: AlertsConfig = AlertsConfig()
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)
    spikes: list[SpikeConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    time_intervals: list[TimeIntervalConfig] = Field(default_factory=list)
    inhibit: list[InhibitConfig] = Field(default_factory=list)
    vip: VipConfig = VipConfig()
    roles: RolesConfig = RolesConfig()
    staff: list[StaffConfig] = Field(default_factory=list)
    groups: dict[str, GroupConfig] = Field(default_factory=dict)
    console: ConsoleConfig = ConsoleConfig()
    discord: DiscordConfig = DiscordConfig()
    tests: list[ConfigTest] = Field(default_factory=list)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    suggestions: SuggestionsConfig = Field(default_factory=SuggestionsConfig)
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    retention: RetentionConfig = RetentionConfig()
    crm: CrmConfig = Field(default_factory=CrmConfig)
    replies: RepliesConfig = Field(default_factory=RepliesConfig)

    @model_validator(mode="after")
    def _check_references(self) -> CrmbotConfig:
        problems = reference_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def reference_problems(config: CrmbotConfig) -> list[str]:
    """Problems that span keys: unknown channels and intervals, duplicates, dead routes."""
    problems: list[str] = []
    channels = list(config.channels)
    intervals = [t.name for t in config.time_intervals]

    def channel(path: str, name: str | None) -> None:
        if name is not None and name not in config.channels:
            problems.append(f"{path}: {_unknown('channel', name, channels)}")

    for key in ("default_channel", "fallback_channel", "admin_channel"):
        channel(f"alerts.{key}", getattr(config.alerts, key))
    _duplicates(problems, "rules", [r.name for r in config.rules], "rule name")
    _duplicates(problems, "spikes", [s.name for s in config.spikes], "spike name")
    _duplicates(problems, "time_intervals", intervals, "interval name")
    _duplicates(problems, "staff", [s.name for s in config.staff], "staff name")
    catch_all: int | None = None
    for i, route in enumerate(config.routes):
        channel(f"routes[{i}].channel", route.channel)
        if route.escalate is not None:
            channel(f"routes[{i}].escalate.to", route.escalate.to)
            people = [s.name for s in config.staff] + list(config.groups)
            for j, name in enumerate(route.escalate.mention):
                if name.removeprefix("@") not in people:
                    problems.append(
                        f"routes[{i}].escalate.mention[{j}]: "
                        + _unknown("person or group", name.removeprefix("@"), people)
                    )
        for j, name in enumerate(route.quiet_hours):
            if name not in intervals:
                problems.append(
                    f"routes[{i}].quiet_hours[{j}]: {_unknown('time interval', name, intervals)}"
                )
        if catch_all is not None:
            problems.append(
                f"routes[{i}]: unreachable: routes[{catch_all}] above it matches everything "
                f"and has no 'continue = true'"
            )
        elif route.is_catch_all and not route.continue_:
            catch_all = i
    for i, test in enumerate(config.tests):
        for j, name in enumerate(test.expect):
            channel(f"tests[{i}].expect[{j}]", name)
    _approver_problems(config, problems)
    return problems


def _approver_problems(config: CrmbotConfig, problems: list[str]) -> None:
    """An approver must be a role or someone in [[staff]]."""
    known = [*APPROVER_ROLES, *(s.name for s in config.staff)]
    lists = [("replies.approvers", config.replies.approvers)]
    lists += [(f"channels.{n}.approvers", c.approvers or []) for n, c in config.channels.items()]
    for path, names in lists:
        for j, name in enumerate(names):
            if name.strip().removeprefix("@") not in known:
                who = name.strip().removeprefix("@")
                problems.append(f"{path}[{j}]: {_unknown('role or staff member', who, known)}")


def _duplicates(problems: list[str], table: str, names: list[str], what: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            problems.append(
                f"{table}[{i}].name: duplicate {what} {name!r} (also {table}[{seen[name]}])"
            )
        seen.setdefault(name, i)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}"
