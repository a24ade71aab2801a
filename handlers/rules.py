"""Alert rules compiled for speed, and the labels they give an event.

Every term of every rule's keyword query goes into one Aho-Corasick automaton: matching
an event costs one pass over its text whatever the number of rules, then only the rules
whose terms occur (plus the few that can match without any term, e.g. ``NOT spam`` or a
rule with no query) are checked in full.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from handlers.config import CrmbotConfig, RuleConfig
from handlers.events import InboundEvent, Mention
from handlers.influence import influence as influence_of
from handlers.query import And as QAnd
from handlers.query import Node, Or, Term, compile_query, normalize_term, parse_query, terms
from handlers.sentiment import label as sentiment_label

Predicate = Callable[[set[int]], bool]


@dataclass(frozen=True, slots=True)
class Subject:
    """What rules look at, for mentions and CRM events alike."""

    kind: str
    text: str
    platform: str
    source: str
    lang: str | None = None
    sentiment: float = 0.0
    followers: int = 0
    influence: float = 0.0
    handle: str | None = None
    crm_event: str | None = None
    amount: float | None = None
    stage: str | None = None
    previous_stage: str | None = None


def subject_of(event: InboundEvent, sentiment: float = 0.0) -> Subject:
    """The rule-relevant facts of an event."""
    if isinstance(event, Mention):
        return Subject(
            kind="mention",
            text=event.text,
            platform=event.platform,
            source=event.source,
            lang=event.lang,
            sentiment=sentiment,
            followers=event.author_followers,
            influence=influence_of(event.author_followers),
            handle=event.author_handle.lstrip("@").lower(),
        )
    return Subject(
        kind="crm",
        text=event.summary,
        platform="crm",
        source=event.source,
        crm_event=event.kind,
        amount=event.amount,
        stage=event.stage,
        previous_stage=event.previous_stage,
    )


BUILTIN_LABELS = frozenset(
    {"kind", "platform", "source", "sentiment", "lang", "crm_event", "stage"}
)


def base_labels(subject: Subject) -> dict[str, str]:
    """Labels every alert has, before rule labels."""
    labels = {
        "kind": subject.kind,
        "platform": subject.platform,
        "source": subject.source,
        "sentiment": sentiment_label(subject.sentiment),
    }
    if subject.lang:
        labels["lang"] = subject.lang
    if subject.crm_event:
        labels["crm_event"] = subject.crm_event
    if subject.stage:
        labels["stage"] = subject.stage
    return labels


def rule_labels(rule: RuleConfig, subject: Subject) -> dict[str, str]:
    """All labels of an alert raised by ``rule``: built-in, the rule's own, rule, severity."""
    return {**base_labels(subject), **rule.labels, "rule": rule.name, "severity": rule.severity}


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _rule_query(rule: RuleConfig) -> Node | None:
    parts: list[Node] = []
    if rule.query:
        parts.append(parse_query(rule.query))
    if rule.keywords:
        words = tuple(Term(normalize_term(k)) for k in rule.keywords)
        parts.append(words[0] if len(words) == 1 else Or(words))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else QAnd(tuple(parts))


class TermMatcher:
    """Finds which of a fixed set of terms occur in a text as whole words or phrases."""

    def __init__(self, all_terms: list[str]) -> None:
        self.ids = {term: i for i, term in enumerate(dict.fromkeys(all_terms))}
        self._automaton = ahocorasick.Automaton()
        for term, term_id in self.ids.items():
            self._automaton.add_word(term, (len(term), term_id))
        if self.ids:
            self._automaton.make_automaton()

    def present(self, text: str) -> set[int]:
        found: set[int] = set()
        if not self.ids:
            return found
        lowered = " ".join(text.lower().split())
        last = len(lowered) - 1
        for end, (length, term_id) in self._automaton.iter(lowered):
            start = end - length + 1
            if start > 0 and _is_word_char(lowered[start - 1]):
                continue
            if end < last and _is_word_char(lowered[end + 1]):
                continue
            found.add(term_id)
        return found


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    index: int
    rule: RuleConfig
    query: Predicate | None  # None: no query, or keywords only (a term hit is the match)
    regex: re.Pattern[str] | None
    filtered: bool  # has conditions beyond the text


class Ruleset:
    """The compiled rules of one configuration (immutable; a reload builds a new one)."""

    def __init__(self, config: CrmbotConfig) -> None:
        self.config = config
        self.rules: tuple[RuleConfig, ...] = tuple(config.rules)
        queries = [_rule_query(rule) for rule in self.rules]
        spike_queries = [parse_query(s.query) if s.query else None for s in config.spikes]
        all_terms = [
            t for q in [*queries, *spike_queries] if q is not None for t in sorted(terms(q))
        ]
        self.matcher = TermMatcher(all_terms)
        self._compiled: list[_CompiledRule] = []
        self._by_term: dict[int, list[int]] = {}
        self._always: list[int] = []
        for index, (rule, query) in enumerate(zip(self.rules, queries, strict=True)):
            predicate = compile_query(query, self.matcher.ids) if query is not None else None
            regex = re.compile(rule.regex, re.IGNORECASE) if rule.regex else None
            keywords_only = rule.query is None and bool(rule.keywords)
            self._compiled.append(
                _CompiledRule(
                    index,
                    rule,
                    None if keywords_only else predicate,
                    regex,
                    _has_filters(rule),
                )
            )
            if rule.unclaimed_for is not None:
                continue  # evaluated on open conversations by the scheduler, not at ingest
            if predicate is None or predicate(set()):
                self._always.append(index)
            else:
                for term in terms(query) if query is not None else ():
                    self._by_term.setdefault(self.matcher.ids[term], []).append(index)
        self.spike_queries: list[Predicate | None] = [
            compile_query(q, self.matcher.ids) if q is not None else None for q in spike_queries
        ]
        self.vip = {h.lower().lstrip("@") for h in config.vip.handles}
        # filled by handlers.routing.cached_route: label set -> RoutePath
        self.route_cache: dict[frozenset[tuple[str, str]], Any] = {}
        # (rule name, values of the built-in labels routes look at) -> route hits
        self.rule_route_cache: dict[tuple[str, tuple[str | None, ...]], Any] = {}
        # filled by handlers.routing.explain: (rules, via, routes, channel) -> the card's why
        self.why_cache: dict[tuple[Any, ...], str] = {}
        named = {name for route in config.routes for name in (*route.match, *route.match_re)}
        self.routed_builtin_labels: tuple[str, ...] = tuple(sorted(named & BUILTIN_LABELS))

    def is_vip(self, subject: Subject) -> bool:
        if subject.handle is None:
            return False
        return subject.handle in self.vip or f"{subject.platform}:{subject.handle}" in self.vip

    def matching(self, subject: Subject, present: set[int] | None = None) -> list[RuleConfig]:
        """Rules that match, in configuration order (``unclaimed_for`` rules excluded)."""
        if present is None:
            present = self.matcher.present(subject.text)
        candidates = set(self._always)
        for term_id in present:
            candidates.update(self._by_term.get(term_id, ()))
        return [
            compiled.rule
            for compiled in (self._compiled[i] for i in sorted(candidates))
            if self._passes(compiled, subject, present)
        ]

    def _passes(self, compiled: _CompiledRule, subject: Subject, present: set[int]) -> bool:
        rule = compiled.rule
        if compiled.query is not None and not compiled.query(present):
            return False
        if compiled.regex is not None and compiled.regex.search(subject.text) is None:
            return False
        return not compiled.filtered or _filters_pass(rule, subject, self.is_vip(subject))

    def unclaimed_rules(self) -> list[RuleConfig]:
        """Rules that fire on conversations left unclaimed for a while."""
        return [r for r in self.rules if r.unclaimed_for is not None]

    def conversation_matches(self, rule: RuleConfig, subject: Subject) -> bool:
        """Whether an ``unclaimed_for`` rule's other conditions hold for a conversation."""
        index = self.rules.index(rule)
        present = self.matcher.present(subject.text)
        query = _rule_query(rule)
        if query is not None and not compile_query(query, self.matcher.ids)(present):
            return False
        return self._passes(self._compiled[index], subject, present)


def _has_filters(rule: RuleConfig) -> bool:
    return any(
        (
            rule.kinds,
            rule.platforms,
            rule.sources,
            rule.languages,
            rule.sentiment_min is not None,
            rule.sentiment_max is not None,
            rule.min_followers is not None,
            rule.min_influence is not None,
            rule.vip is not None,
            rule.crm_events,
            rule.min_amount is not None,
            rule.stage_to,
            rule.stage_from,
        )
    )


def _filters_pass(rule: RuleConfig, s: Subject, vip: bool) -> bool:
    checks = (
        not rule.kinds or s.kind in rule.kinds,
        not rule.platforms or s.platform in rule.platforms,
        not rule.sources or s.source in rule.sources,
        not rule.languages or (s.lang or "") in rule.languages,
        rule.sentiment_min is None or (s.kind == "mention" and s.sentiment >= rule.sentiment_min),
        rule.sentiment_max is None or (s.kind == "mention" and s.sentiment <= rule.sentiment_max),
        rule.min_followers is None or s.followers >= rule.min_followers,
        rule.min_influence is None or s.influence >= rule.min_influence,
        rule.vip is None or vip == rule.vip,
        not rule.crm_events or s.crm_event in rule.crm_events,
        rule.min_amount is None or (s.amount is not None and s.amount >= rule.min_amount),
        not rule.stage_to or (s.stage or "").lower() in {x.lower() for x in rule.stage_to},
        not rule.stage_from
        or (s.previous_stage or "").lower() in {x.lower() for x in rule.stage_from},
    )
    return all(checks)


def compile_rules(config: CrmbotConfig) -> Ruleset:
    """Compile ``config``'s rules."""
    return Ruleset(config)


__all__ = [
    "Ruleset",
    "Subject",
    "base_labels",
    "compile_rules",
    "rule_labels",
    "subject_of",
]
