"""Admin checks: the ``[[tests]]`` of a config file, and route tracing for given labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.config import CrmbotConfig
from handlers.events import CrmEvent, InboundEvent, Mention
from handlers.routing import decide
from handlers.rules import Ruleset, subject_of
from handlers.sentiment import SentimentScorer

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One ``[[tests]]`` entry's result."""

    index: int
    name: str
    expected: tuple[str, ...]
    got: tuple[str, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and set(self.expected) == set(self.got)


def event_from_test(data: dict[str, Any]) -> tuple[InboundEvent, float | None]:
    """The event a test describes (short keys), and its sentiment if the test fixes one."""
    kind = data.get("type", "mention")
    sentiment = data.get("sentiment")
    if kind == "mention":
        allowed = {"type", "platform", "source", "text", "followers", "lang", "handle", "sentiment"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown event keys {sorted(unknown)} (allowed: {sorted(allowed)})")
        platform = str(data.get("platform", "twitter"))
        event: InboundEvent = Mention(
            source=str(data.get("source", platform)),
            external_id="config-test",
            platform=platform,
            author_handle=str(data.get("handle", "someone")),
            text=str(data.get("text", "")),
            posted_at=_EPOCH,
            author_followers=int(data.get("followers", 0)),
            lang=data.get("lang"),
        )
    elif kind == "crm":
        allowed = {"type", "source", "kind", "summary", "amount", "stage", "previous_stage"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown event keys {sorted(unknown)} (allowed: {sorted(allowed)})")
        amount = data.get("amount")
        event = CrmEvent(
            source=str(data.get("source", "hubspot")),
            external_id="config-test",
            kind=str(data.get("kind", "lead_created")),
            object_id="config-test",
            occurred_at=_EPOCH,
            summary=str(data.get("summary", "")),
            amount=float(amount) if amount is not None else None,
            stage=data.get("stage"),
            previous_stage=data.get("previous_stage"),
        )
    else:
        raise ValueError(f"event type must be 'mention' or 'crm', not {kind!r}")
    return event, float(sentiment) if sentiment is not None else None


def channels_for(
    ruleset: Ruleset, event: InboundEvent, sentiment: float | None, scorer: SentimentScorer
) -> tuple[str, ...]:
    """The channels a new conversation started by ``event`` would be posted to."""
    if sentiment is None:
        sentiment = scorer.score(event.text, event.lang) if isinstance(event, Mention) else 0.0
    decision = decide(ruleset, subject_of(event, sentiment))
    return decision.channels if decision else ()


def run_config_tests(ruleset: Ruleset, scorer: SentimentScorer | None = None) -> list[TestOutcome]:
    """Run every ``[[tests]]`` table of the config."""
    scorer = scorer or SentimentScorer(workers=0, config=ruleset.config.sentiment)
    outcomes = []
    for index, test in enumerate(ruleset.config.tests):
        name = test.name or f"tests[{index}]"
        try:
            event, sentiment = event_from_test(test.event)
        except (ValueError, TypeError) as exc:
            outcomes.append(
                TestOutcome(index, name, tuple(test.expect), (), f"tests[{index}].event: {exc}")
            )
            continue
        got = channels_for(ruleset, event, sentiment, scorer)
        outcomes.append(TestOutcome(index, name, tuple(test.expect), got))
    return outcomes


CHAT_PLATFORMS = ("slack", "discord")


def undelivered_channels(config: CrmbotConfig, platforms: list[str] | None = None) -> list[str]:
    """Warnings for channels that have no destination on ``platforms`` (default: every chat
    platform the config gives any channel an id on): their alerts would go to the fallback
    channel instead."""
    if platforms is None:
        platforms = [
            p for p in CHAT_PLATFORMS if any(getattr(c, p) for c in config.channels.values())
        ]
    if not platforms:
        return []
    fallback = config.alerts.fallback_channel
    where = " or ".join(platforms)
    return [
        f"channels.{name}: no {where} id; its messages go to "
        + (f"#{fallback}" if fallback and fallback != name else "nowhere")
        + f" (set channels.{name}.{platforms[0]})"
        for name, channel in config.channels.items()
        if not any(getattr(channel, p, None) for p in platforms)
    ]
