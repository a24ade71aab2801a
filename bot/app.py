"""Assembly: one :class:`CrmBot` owns the database, config, ingest path, dispatcher and adapters."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from bot.chat.base import ChatAdapter
from bot.dispatcher import Dispatcher
from bot.observability import BotMetrics
from handlers.cards import NoticeCard, card_from_outbox
from handlers.clock import Clock, SystemClock
from handlers.commands import handle_command
from handlers.config import CrmbotConfig
from handlers.context import BotContext
from handlers.delivery import Destination
from handlers.events import Actor, Command, InboundEvent
from handlers.ingest import Ingestor, IngestResult
from handlers.replies import Reply
from handlers.rules import Ruleset, compile_rules
from handlers.suggest.service import Drafter, SuggestionService
from storage import migrate
from storage.db import Database, redact_url
from storage.models import Outbox
from storage.staff import StaffSpec, sync_staff

log = logging.getLogger(__name__)


class RulesHolder:
    """The live compiled config; a reload swaps it in one step."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset
        self._lock = threading.Lock()

    def get(self) -> Ruleset:
        return self._ruleset

    def swap(self, ruleset: Ruleset) -> None:
        with self._lock:
            self._ruleset = ruleset


def staff_specs(config: CrmbotConfig) -> list[StaffSpec]:
    """The config's staff with their chat identities."""
    return [
        StaffSpec(
            name=member.name,
            display_name=member.display_name,
            email=member.email,
            team=member.team,
            role=member.role,
            identities=tuple(
                (platform, user_id)
                for platform, user_id in (
                    ("slack", member.slack),
                    ("discord", member.discord),
                    ("console", member.console),
                )
                if user_id
            ),
        )
        for member in config.staff
    ]


class CrmBot:
    """The bot process's parts, wired together."""

    def __init__(
        self,
        database_url: str,
        config: CrmbotConfig,
        adapters: Sequence[ChatAdapter],
        clock: Clock | None = None,
        migrate_db: bool = True,
        drafter: Drafter | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.db = Database(database_url)
        if migrate_db:
            migrate.upgrade(self.db)
        log.info("database ready at %s", redact_url(database_url))
        self.rules = RulesHolder(compile_rules(config))
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        self.dispatcher = Dispatcher(
            self.db, self.adapters, self.clock, config=lambda: self.rules.get().config
        )
        self.metrics = BotMetrics(self.db, self.clock.now)
        self.dispatcher.metrics = self.metrics
        self.ctx = BotContext(
            db=self.db,
            clock=self.clock,
            ruleset=self.rules.get,
            destinations=self.destinations,
            on_queued=self.dispatcher.wake,
        )
        self.ingestor = Ingestor(
            self.db, self.rules.get, self.destinations, self.clock, on_queued=self.dispatcher.wake
        )
        self.config_listeners: list[Callable[[CrmbotConfig], None]] = []
        self.dispatcher.on_repeated_failure = self._fall_back
        self.suggestions = SuggestionService(self.ctx, drafter)
        self.dispatcher.after_alert.append(self.suggestions.after_alert)
        self.ctx.request_suggestion = self.suggestions.request
        for adapter in self.adapters.values():
            adapter.bind(self.ctx)
        self.apply_config(config)

    def _fall_back(self, row: Outbox, reason: str) -> None:
        """An alert keeps failing: post a copy to the fallback channel and tell the admins.
        The original row keeps being retried."""
        config = self.config
        fallback = config.alerts.fallback_channel
        if row.kind != "alert" or fallback is None or fallback == row.channel:
            return
        card = card_from_outbox(row.kind, row.payload)
        notice = NoticeCard(
            conversation_id=None,
            text=(
                f"Posting to #{row.channel} ({row.platform}) keeps failing ({reason}); "
                f"alert #{row.conversation_id} was sent to #{fallback} meanwhile."
            ),
        )
        with self.db.session() as session:
            self.ctx.queue(session, card, [fallback])
            if config.alerts.admin_channel:
                self.ctx.queue(session, notice, [config.alerts.admin_channel])
        self.dispatcher.wake()

    @property
    def config(self) -> CrmbotConfig:
        return self.rules.get().config

    def apply_config(self, config: CrmbotConfig) -> None:
        """Swap in a validated config, bring the staff table in line with it, and tell the
        parts that follow the config (e.g. pollers) about it."""
        ruleset = compile_rules(config)
        with self.db.session() as session:
            sync_staff(session, staff_specs(config), self.clock.now())
        self.rules.swap(ruleset)
        for listener in self.config_listeners:
            try:
                listener(config)
            except Exception:
                log.exception("a config listener failed after the reload")

    def destinations(self, channel: str) -> list[Destination]:
        """Where ``channel`` is delivered on the running platforms."""
        config = self.config
        return [
            Destination(platform, destination)
            for platform, adapter in self.adapters.items()
            for destination in adapter.destinations(channel, config)
        ]

    def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """Store a batch of events (one transaction) and queue its alerts."""
        result = self.ingestor.ingest(events)
        self.metrics.stored(result.stored)
        return result

    def command(self, actor: Actor, text: str, channel: str | None = None) -> Reply:
        """Run ``/crm <text>`` as ``actor``."""
        return handle_command(self.ctx, Command(actor=actor, text=text, channel=channel))

    async def start(self) -> None:
        self.suggestions.bind_loop(asyncio.get_running_loop())
        for adapter in self.adapters.values():
            await adapter.start()

    async def stop(self, grace: float | None = None) -> None:
        """Finish background drafts and disconnect the adapters (all within ``grace``
        seconds when given; what runs over is cancelled), then release the workers and
        the database."""
        loop = asyncio.get_running_loop()
        deadline = None if grace is None else loop.time() + grace
        steps = [self.suggestions.idle(), *(a.stop() for a in self.adapters.values())]
        for step in steps:
            left = None if deadline is None else max(0.1, deadline - loop.time())
            try:
                await asyncio.wait_for(step, left)
            except TimeoutError:
                log.warning("a shutdown step ran over the %.0fs allowed: cancelled", grace)
            except Exception:
                log.exception("a shutdown step failed")
        self.ingestor.close()
        self.db.dispose()
