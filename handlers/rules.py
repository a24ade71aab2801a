"""Alert rules compiled for speed: every keyword of every rule in one Aho-Corasick automaton.

Matching one mention costs one pass over its text, whatever the number of rules, plus
a check of the few rules whose keywords actually occur.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from handlers.config import SEVERITY_ORDER, CrmbotConfig, RuleConfig
from handlers.events import CrmEvent, InboundEvent, Mention


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a new conversation goes: its channels, severity, first matching rule and team."""

    channels: tuple[str, ...]
    severity: str
    rule: str | None
    team: str | None


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Ruleset:
    """The compiled rules of one configuration."""

    def __init__(self, config: CrmbotConfig) -> None:
        self.config = config
        self.rules: tuple[RuleConfig, ...] = tuple(config.rules)
        self._automaton = ahocorasick.Automaton()
        self._keywordless: list[int] = []
        keywords: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            if not rule.keywords:
                self._keywordless.append(index)
            for keyword in rule.keywords:
                needle = keyword.strip().lower()
                if needle:
                    keywords.setdefault(needle, []).append(index)
        for needle, indexes in keywords.items():
            self._automaton.add_word(needle, (len(needle), tuple(indexes)))
        self._has_keywords = bool(keywords)
        if self._has_keywords:
            self._automaton.make_automaton()

    def keyword_hits(self, text: str) -> set[int]:
        """Indexes of rules with a keyword occurring in ``text`` as a whole word or phrase."""
        hits: set[int] = set()
        if not self._has_keywords:
            return hits
        lowered = text.lower()
        last = len(lowered) - 1
        for end, (length, indexes) in self._automaton.iter(lowered):
            start = end - length + 1
            if start > 0 and _is_word_char(lowered[start - 1]):
                continue
            if end < last and _is_word_char(lowered[end + 1]):
                continue
            hits.update(indexes)
        return hits

    def matching(self, event: InboundEvent, sentiment: float = 0.0) -> list[RuleConfig]:
        """The rules that match ``event``, in configuration order."""
        text = event.text if isinstance(event, Mention) else event.summary
        candidates = self.keyword_hits(text)
        candidates.update(self._keywordless)
        return [
            self.rules[i]
            for i in sorted(candidates)
            if _filters_pass(self.rules[i], event, sentiment)
        ]

    def decide(self, event: InboundEvent, sentiment: float = 0.0) -> RouteDecision | None:
        """The route for a new conversation, or None when nothing should alert."""
        matched = self.matching(event, sentiment)
        if not matched:
            default = self.config.alerts.default_channel
            if default is None:
                return None
            return RouteDecision((default,), "normal", None, None)
        channels = tuple(dict.fromkeys(rule.channel for rule in matched))
        severity = max((rule.severity for rule in matched), key=SEVERITY_ORDER.__getitem__)
        team = next((rule.team for rule in matched if rule.team), None)
        return RouteDecision(channels, severity, matched[0].name, team)


def _filters_pass(rule: RuleConfig, event: InboundEvent, sentiment: float) -> bool:
    if isinstance(event, CrmEvent):
        return bool(rule.crm_events) and event.kind in rule.crm_events
    if rule.crm_events:
        return False
    if rule.platforms and event.platform not in rule.platforms:
        return False
    if rule.sentiment_below is not None and not sentiment < rule.sentiment_below:
        return False
    return rule.min_followers is None or event.author_followers >= rule.min_followers


def compile_rules(config: CrmbotConfig) -> Ruleset:
    """Compile ``config``'s rules."""
    return Ruleset(config)


__all__: Sequence[str] = ("RouteDecision", "Ruleset", "compile_rules")
