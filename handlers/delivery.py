"""Where a named channel is delivered: the seam between routing and the running chat adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from handlers.cards import Card

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
    card: Card, channels: list[str], destinations: DestinationResolver, now: datetime
) -> list[dict[str, Any]]:
    """Outbox row values posting ``card`` to every running destination of ``channels``."""
    payload = card.to_payload()
    rows: list[dict[str, Any]] = []
    for channel in channels:
        targets = destinations(channel)
        if not targets:
            log.warning("channel %r has no destination on a running chat platform", channel)
        rows.extend(
            {
                "conversation_id": card.conversation_id,
                "kind": card.kind,
                "channel": channel,
                "platform": target.platform,
                "destination": target.destination,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for target in targets
        )
    return rows
