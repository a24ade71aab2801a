"""What every handler needs: the database, the clock, the live config and where to post."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlmodel import Session

from handlers.cards import Card
from handlers.clock import Clock
from handlers.config import CrmbotConfig
from handlers.crm_port import Crm
from handlers.delivery import AlertTiming, DestinationResolver, outbox_rows
from handlers.publish_port import Publisher
from handlers.rules import Ruleset
from storage.db import Database
from storage.models import Outbox


@dataclass
class BotContext:
    """Shared, platform-neutral services for handlers."""

    db: Database
    clock: Clock
    ruleset: Callable[[], Ruleset]
    destinations: DestinationResolver
    on_queued: Callable[[], None] = field(default=lambda: None)
    reload_config: Callable[[str], tuple[bool, str]] | None = None
    on_claimed: Callable[[int], None] = field(default=lambda conversation_id: None)
    # schedules a background suggestion draft; False when none can run (handlers/suggest)
    request_suggestion: Callable[[int], bool] | None = None
    # the CRM leads are made in and webhooks are completed from (None: none configured)
    crm: Crm | None = None
    # replies to the customer: publishers by source kind (bot/publish), and how to wake the
    # publish worker after a reply was queued (handlers/publishing.py)
    publishers: Mapping[str, Publisher] = field(default_factory=dict)
    on_reply_queued: Callable[[], None] = field(default=lambda: None)

    @property
    def config(self) -> CrmbotConfig:
        return self.ruleset().config

    def queue(
        self, session: Session, card: Card, channels: list[str], timing: AlertTiming | None = None
    ) -> int:
        """Add outbox rows posting ``card`` to ``channels``; returns how many."""
        rows = outbox_rows(card, channels, self.destinations, self.clock.now(), timing)
        for row in rows:
            session.add(Outbox(**row))
        return len(rows)
