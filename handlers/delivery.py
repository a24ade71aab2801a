"""Where a named channel is delivered: the seam between routing and the running chat adapters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from handlers.cards import Card
from handlers.config import CrmbotConfig
from handlers.digest_group import DigestGroup
from handlers.time_intervals import quiet_until
from storage.outbox_types import OutboxKind, OutboxStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Destination:
    """One place to post: a platform and its channel id (Slack C123, Discord id, console name)."""

    platform: str
    destination: str


class DestinationResolver(Protocol):
    def __call__(self, channel: str) -> list[Destination]:
        """The destinations of ``channel`` on the platforms that are running."""
        ...


def outbox_rows(
    card: Card,
    channels: list[str],
    destinations: DestinationResolver,
    now: datetime,
    timing: AlertTiming | None = None,
) -> list[dict[str, Any]]:
    """Outbox row values posting ``card`` to every running destination of ``channels``
    (at ``timing.due``, in its digest group, when a timing is given)."""
    payload = card.to_payload()
    rows: list[dict[str, Any]] = []
    for channel in channels:
        targets = destinations(channel)
        if not targets:
            log.warning("channel %r has no destination on a running chat platform", channel)
        rows.extend(
            {
                "conversation_id": card.conversation_id,
                "kind": OutboxKind(card.kind),
                "channel": channel,
                "platform": target.platform,
                "destination": target.destination,
                "payload": payload,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": timing.due if timing else now,
                "group_key": timing.group_key if timing else None,
            }
            for target in targets
        )
    return rows


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """When a new alert may be posted, and the digest group it is posted with (if any)."""

    due: datetime
    group: DigestGroup | None = None

    @property
    def group_key(self) -> str | None:
        """The group as stored in ``Outbox.group_key`` (None: posted on its own)."""
        return self.group.key if self.group is not None else None


GroupState = Callable[[str], tuple[datetime | None, datetime | None]]


def alert_timing(
    config: CrmbotConfig,
    route_index: int,
    labels: dict[str, str],
    now: datetime,
    group_state: GroupState,
) -> AlertTiming:
    """Apply the route's quiet hours and grouping to a new alert.

    - inside quiet hours: deferred to their end and delivered with the others as a digest;
    - grouped routes (``group_by`` / ``group_wait``): the first alert of a group waits
      ``group_wait`` and takes along everything of its group that arrives meanwhile; after
      a group was posted, its next alerts wait until ``group_interval`` has passed.

    ``group_state(key)`` tells (due time of the group's pending alerts, time it was last
    posted).
    """
    if not 0 <= route_index < len(config.routes):
        return AlertTiming(now)
    chosen = config.routes[route_index]
    label = chosen.label(route_index)
    if chosen.quiet_hours:
        intervals = [iv for iv in config.time_intervals if iv.name in chosen.quiet_hours]
        until = quiet_until(intervals, now)
        if until is not None:
            return AlertTiming(until, DigestGroup.quiet(label))
    if not chosen.group_by and not chosen.group_wait:
        return AlertTiming(now)
    group = DigestGroup.route(label, chosen.group_by, labels)
    pending_due, last_sent = group_state(group.key)
    if pending_due is not None:
        return AlertTiming(pending_due, group)
    due = now + chosen.group_wait
    if last_sent is not None:
        due = max(due, last_sent + chosen.group_interval)
    return AlertTiming(due, group)
