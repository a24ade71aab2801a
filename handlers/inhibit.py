"""Inhibit rules: while a spike alert is open, the single-mention alerts it covers are not
posted one by one; they are folded into a digest every few minutes ("muted by spike #12").
Nothing is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.config import CrmbotConfig, RouteConfig
from handlers.delivery import AlertTiming, GroupState
from handlers.digest_group import DigestGroup
from handlers.routing import route_matches

MUTED_WAIT = timedelta(minutes=1)
MUTED_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An open spike alert that may inhibit others."""

    conversation_id: int
    labels: dict[str, str]


def _matches(match: dict[str, str], labels: dict[str, str]) -> bool:
    return route_matches(RouteConfig(match=match, channel="-"), labels)


def inhibitor(
    config: CrmbotConfig, labels: dict[str, str], active: list[ActiveAlert]
) -> ActiveAlert | None:
    """The open alert that mutes an alert with ``labels``, if any."""
    for rule in config.inhibit:
        if not _matches(rule.target_match, labels):
            continue
        for source in active:
            if source.labels.get("kind") == labels.get("kind") == "spike":
                continue  # spikes never mute each other
            if _matches(rule.source_match, source.labels) and all(
                source.labels.get(k) == labels.get(k) for k in rule.equal
            ):
                return source
    return None


def muted_timing(source: ActiveAlert, now: datetime, group_state: GroupState) -> AlertTiming:
    """Muted alerts of one source go out together: a digest a minute after the first,
    then at most every MUTED_INTERVAL."""
    group = DigestGroup.inhibit(source.conversation_id)
    pending_due, last_sent = group_state(group.key)
    if pending_due is not None:
        return AlertTiming(pending_due, group)
    due = now + MUTED_WAIT
    if last_sent is not None:
        due = max(due, last_sent + MUTED_INTERVAL)
    return AlertTiming(due, group)
