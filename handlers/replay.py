"""`crmbot replay --dry-run`: which rules would have fired over stored mentions, to tune
thresholds before a config goes live. Nothing is posted or written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.influence import influence
from handlers.routing import decide
from handlers.rules import Ruleset, Subject
from storage.mentions import StoredMention


@dataclass(slots=True)
class ReplayReport:
    """Counts over the replayed mentions."""

    mentions: int = 0
    matched: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def replay(ruleset: Ruleset, mentions: Iterable[StoredMention]) -> ReplayReport:
    """Evaluate the current rules and routes over ``mentions``."""
    report = ReplayReport()
    for stored in mentions:
        report.mentions += 1
        subject = Subject(
            kind="mention",
            text=stored.text,
            platform=stored.platform,
            source=stored.source,
            lang=stored.lang,
            sentiment=stored.sentiment,
            followers=stored.followers,
            influence=influence(stored.followers),
            handle=stored.handle,
        )
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
