"""Routes: which channels an alert's labels lead to (ordered, first match wins unless
``continue = true``; the alerts table's ``default_channel`` is the root route)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from handlers.config import SEVERITY_ORDER, CrmbotConfig, RouteConfig
from handlers.rules import Ruleset, Subject, base_labels, rule_labels


@dataclass(frozen=True, slots=True)
class RouteHit:
    """A route that took the alert (index -1: the default route)."""

    index: int
    name: str
    channel: str
    route: RouteConfig | None


@dataclass(frozen=True, slots=True)
class RoutePath:
    """The routes an alert took, and every route looked at on the way (for ``routes test``)."""

    hits: tuple[RouteHit, ...]
    steps: tuple[tuple[str, bool], ...]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.channel for hit in self.hits))


def route_matches(route: RouteConfig, labels: dict[str, str]) -> bool:
    """All ``match`` labels equal and all ``match_re`` labels fully match."""
    for name, value in route.match.items():
        if labels.get(name) != value:
            return False
    for name, pattern in route.match_re.items():
        if re.fullmatch(pattern, labels.get(name, "")) is None:
            return False
    return True


def route(config: CrmbotConfig, labels: dict[str, str]) -> RoutePath:
    """Walk the routes in order for ``labels``."""
    hits: list[RouteHit] = []
    steps: list[tuple[str, bool]] = []
    for index, candidate in enumerate(config.routes):
        matched = route_matches(candidate, labels)
        steps.append((candidate.label(index), matched))
        if matched:
            hits.append(RouteHit(index, candidate.label(index), candidate.channel, candidate))
            if not candidate.continue_:
                break
    if not hits and config.alerts.default_channel is not None:
        steps.append(("default route", True))
        hits.append(RouteHit(-1, "default route", config.alerts.default_channel, None))
    return RoutePath(tuple(hits), tuple(steps))


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a new conversation goes and the labels it carries."""

    channels: tuple[str, ...]
    severity: str
    rule: str | None
    team: str | None
    labels: dict[str, str] = field(default_factory=dict)
    rules: tuple[str, ...] = ()
    routes: tuple[int, ...] = ()  # per channel: the index of the route that chose it (-1: default)
    via: tuple[str | None, ...] = ()  # per channel: the rule whose alert the route took


ROUTE_CACHE_SIZE = 4096


def cached_route(ruleset: Ruleset, labels: dict[str, str]) -> RoutePath:
    """:func:`route` for the ruleset's config, remembered per label set (routes depend on
    nothing else, and the same few label sets recur all day)."""
    key = frozenset(labels.items())
    cache = ruleset.route_cache
    path = cache.get(key)
    if path is None:
        if len(cache) >= ROUTE_CACHE_SIZE:
            cache.clear()
        path = cache[key] = route(ruleset.config, labels)
    return path


def decide(ruleset: Ruleset, subject: Subject) -> RouteDecision | None:
    """Match rules, route each matching rule's alert; None when nothing should alert.

    An event that matches no rule still goes to the default route (if any), labelled
    only with its built-in labels.
    """
    matched = ruleset.matching(subject)
    base = base_labels(subject)
    if not matched:
        labels = base
        path = cached_route(ruleset, labels)
        if not path.channels:
            return None
        by_channel = _first_hits(path.hits, {}, {}, None)
        return RouteDecision(
            tuple(by_channel),
            "normal",
            None,
            labels.get("team"),
            labels,
            (),
            tuple(by_channel.values()),
            (None,) * len(by_channel),
        )
    # A route looks only at the label names its matchers name, so a rule's route depends
    # on the rule and on just those built-in labels: cache it under that small key.
    cache = ruleset.rule_route_cache
    relevant = tuple(base.get(name) for name in ruleset.routed_builtin_labels)
    chosen: dict[str, int] = {}
    via: dict[str, str | None] = {}
    for rule in matched:
        key = (rule.name, relevant)
        hits: tuple[RouteHit, ...] | None = cache.get(key)
        if hits is None:
            labels = {**base, **rule.labels, "rule": rule.name, "severity": rule.severity}
            if len(cache) >= ROUTE_CACHE_SIZE:
                cache.clear()
            hits = cache[key] = cached_route(ruleset, labels).hits
        _first_hits(hits, chosen, via, rule.name)
    if not chosen:
        return None
    first = matched[0]
    labels = rule_labels(first, subject)
    severity = max((r.severity for r in matched), key=SEVERITY_ORDER.__getitem__)
    labels["severity"] = severity
    team = next((r.labels["team"] for r in matched if "team" in r.labels), None)
    return RouteDecision(
        tuple(chosen),
        severity,
        first.name,
        team,
        labels,
        tuple(r.name for r in matched),
        tuple(chosen.values()),
        tuple(via.values()),
    )


def _first_hits(
    hits: tuple[RouteHit, ...],
    chosen: dict[str, int],
    via: dict[str, str | None],
    rule: str | None,
) -> dict[str, int]:
    for hit in hits:
        if hit.channel not in chosen:
            chosen[hit.channel] = hit.index
            via[hit.channel] = rule
    return chosen


def explain(ruleset: Ruleset, decision: RouteDecision, channel: str) -> str:
    """Why the alert went to ``channel``, for the card: e.g. ``rule `billing complaint` →
    route `support queue` (team=support) → #support; also matched: outage`` (remembered
    per ruleset: the same few decisions recur all day)."""
    key = (decision.rules, decision.via, decision.routes, channel)
    why = ruleset.why_cache.get(key)
    if why is None:
        if len(ruleset.why_cache) >= ROUTE_CACHE_SIZE:
            ruleset.why_cache.clear()
        why = ruleset.why_cache[key] = _explain(ruleset.config, decision, channel)
    return why


def _explain(config: CrmbotConfig, decision: RouteDecision, channel: str) -> str:
    at = decision.channels.index(channel)
    rule = decision.via[at] if at < len(decision.via) else decision.rule
    index = decision.routes[at] if at < len(decision.routes) else -1
    head = f"rule `{rule}`" if rule else "no rule matched"
    text = f"{head} → {describe_route(config, index)} → #{channel}"
    others = [name for name in decision.rules if name != rule]
    if others:
        text += f"; also matched: {', '.join(others)}"
    return text


def describe_route(config: CrmbotConfig, index: int) -> str:
    """``route `name` (team=support, severity~high|critical)``, or the default route."""
    if not 0 <= index < len(config.routes):
        return "the default route"
    candidate = config.routes[index]
    matchers = [f"{k}={v}" for k, v in candidate.match.items()]
    matchers += [f"{k}~{v}" for k, v in candidate.match_re.items()]
    where = f"route `{candidate.label(index)}`"
    return f"{where} ({', '.join(matchers)})" if matchers else where
