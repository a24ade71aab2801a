"""`crmbot replay --dry-run`: which rules would have fired over stored mentions, to tune
thresholds before a config goes live. Nothing is posted or written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.events import Mention
from handlers.routing import decide
from handlers.rules import Ruleset, subject_of
from storage.mentions import StoredMention


@dataclass(slots=True)
class ReplayReport:
    """Counts over the replayed mentions."""

    mentions: int = 0
    matched: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def as_mention(stored: StoredMention) -> Mention:
    """The stored mention as the event ingest saw, so replay routes it through the live
    :func:`handlers.rules.subject_of` (a dry run cannot drift from live routing)."""
    return Mention(
        source=stored.source,
        external_id=str(stored.id),
        platform=stored.platform,
        author_handle=stored.handle or "",
        text=stored.text,
        posted_at=stored.received_at,
        author_followers=stored.followers,
        lang=stored.lang,
    )


def replay(ruleset: Ruleset, mentions: Iterable[StoredMention]) -> ReplayReport:
    """Evaluate the current rules and routes over ``mentions``."""
    report = ReplayReport()
    for stored in mentions:
        report.mentions += 1
        subject = subject_of(as_mention(stored), stored.sentiment)
        decision = decide(ruleset, subject)
        if decision is None:
            continue
        if decision.rules:
            report.matched += 1
        for name in decision.rules:
            report.by_rule[name] += 1
            report.examples.setdefault(name, stored.text)
        report.by_channel.update(decision.channels)
    return report
