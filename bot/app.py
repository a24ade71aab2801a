"""Assembly: one :class:`CrmBot` owns the database, config, ingest path, dispatcher and adapters."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.chat.base import ChatAdapter
from bot.chat.registry import PLATFORMS, channel_destination
from bot.dispatcher import Dispatcher
from bot.leader import Leadership
from bot.observability import BotMetrics
from bot.publish.registry import close_publishers
from bot.publishing import PublishWorker
from handlers.cards import NoticeCard, card_from_outbox
from handlers.clock import Clock, SystemClock
from handlers.commands import handle_command
from handlers.config import CrmbotConfig
from handlers.context import BotContext
from handlers.crm_enrich import Enricher
from handlers.crm_port import Crm
from handlers.delivery import Destination
from handlers.events import Actor, Command, InboundEvent
from handlers.inbound import InboundHandlers
from handlers.ingest import Ingestor, IngestResult
from handlers.publish_port import Publisher
from handlers.replies import Reply
from handlers.rules import Ruleset, compile_rules
from handlers.sentiment.model import LabelModel, Relabeller
from handlers.suggest.service import Drafter, SuggestionService
from storage import migrate
from storage import sources as source_store
from storage.db import Database, redact_url
from storage.models import Outbox
from storage.sources import SourceState
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
        sentiment_model: LabelModel | None = None,
        crm: Callable[[Callable[[], CrmbotConfig]], Crm | None] | None = None,
        publishers: Mapping[str, Publisher] | None = None,
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
            publishers=dict(publishers or {}),
        )
        self.publish_worker = PublishWorker(self.ctx)
        self.publish_worker.metrics = self.metrics
        self.ctx.on_reply_queued = self.publish_worker.wake
        self.ingestor = Ingestor(
            self.db, self.rules.get, self.destinations, self.clock, on_queued=self.dispatcher.wake
        )
        self.config_listeners: list[Callable[[CrmbotConfig], None]] = []
        self.dispatcher.on_repeated_failure = self._fall_back
        self.suggestions = SuggestionService(self.ctx, drafter)
        self.dispatcher.after_alert.append(self.suggestions.after_alert)
        self.ctx.request_suggestion = self.suggestions.request
        self.inbound = InboundHandlers(self.ctx)
        self.relabeller = Relabeller(self.ctx, sentiment_model)
        # the CRM, given the live config (bot/crm: HubSpot, or a lead.create webhook)
        self.ctx.crm = crm(lambda: self.rules.get().config) if crm is not None else None
        self.enricher = Enricher(self.ctx, self.ctx.crm)
        self.ingestor.offer_lead = self.ctx.crm is not None
        if self.enricher.enabled and self.ctx.crm is not None:
            self.ingestor.enrich_source = self.ctx.crm.name
        for adapter in self.adapters.values():
            adapter.bind(self.inbound)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unrouted: set[str] = set()
        self.leadership = Leadership(self.db)
        self.leadership.on_change.append(lambda leader: self.metrics.leader.set(int(leader)))
        self.metrics.leader.set(int(self.leadership.is_leader()))
        self.apply_config(config)

    def _fall_back(self, row: Outbox, reason: str, dead: bool) -> None:
        """A row keeps failing, or failed for good: tell the admins, and post a copy of an
        alert to the fallback channel meanwhile (a retried original keeps being retried)."""
        config = self.config
        fallback = config.alerts.fallback_channel
        rerouted = row.kind == "alert" and fallback is not None and fallback != row.channel
        what = f"alert #{row.conversation_id}" if row.kind == "alert" else f"a {row.kind} message"
        state = "failed and will not be retried" if dead else "keeps failing"
        text = f"Posting {what} to #{row.channel} ({row.platform}) {state}: {reason}."
        if rerouted:
            text += f" It was sent to #{fallback} instead."
        notice = NoticeCard(conversation_id=None, text=text)
        with self.db.session() as session:
            if rerouted and fallback is not None:
                self.ctx.queue(session, card_from_outbox(row.kind, row.payload), [fallback])
            if config.alerts.admin_channel and config.alerts.admin_channel != row.channel:
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
        """Where ``channel`` is delivered on the enabled platforms, from the config.

        A channel with no destination on any of them is never silently dropped: its
        messages go to ``alerts.fallback_channel`` and the admins are told (once a run).
        """
        config = self.config
        found = self._destinations_of(config, channel)
        if found:
            return found
        fallback = config.alerts.fallback_channel
        if channel not in self._unrouted:
            self._unrouted.add(channel)
            log.warning("channel %r has no destination on any running chat platform", channel)
            self._tell_admins_later(
                f"Channel #{channel} has no destination on any running chat platform "
                f"({', '.join(sorted(self.adapters))}); its alerts go to "
                f"{'#' + fallback if fallback else 'nowhere until one is set'}. "
                f"Add its id under [channels.{channel}] in the config."
            )
        if fallback is None or fallback == channel:
            return []
        return self._destinations_of(config, fallback)

    def is_leader(self) -> bool:
        """Whether this replica runs the scheduled jobs (always, on SQLite)."""
        return self.leadership.is_leader()

    def platforms(self) -> list[str]:
        """The platforms alerts go to. With a chat platform running, every known platform
        the config gives channel ids for (another replica may run one this one does not);
        with only the console (local use), the console."""
        local = list(self.adapters)
        if set(local) <= {"console"}:
            return local
        return local + [p.name for p in PLATFORMS if p.name not in self.adapters]

    def _destinations_of(self, config: CrmbotConfig, channel: str) -> list[Destination]:
        return [
            Destination(platform, destination)
            for platform in self.platforms()
            if (destination := channel_destination(config, channel, platform)) is not None
        ]

    def _tell_admins_later(self, text: str) -> None:
        """Queue a notice for the admins' channel outside the caller's transaction."""
        admins = self.config.alerts.admin_channel
        loop = self._loop
        if admins is None or loop is None or loop.is_closed():
            return

        def queue() -> None:
            with self.db.session() as session:
                self.ctx.queue(session, NoticeCard(conversation_id=None, text=text), [admins])
            self.dispatcher.wake()

        loop.call_soon_threadsafe(lambda: loop.run_in_executor(None, queue))

    def load_source_state(self, kind: str, name: str) -> SourceState:
        """Where a poller left off and how healthy it is."""
        with self.db.session() as session:
            return source_store.load_state(session, kind, name)

    def save_source_state(self, state: SourceState, now: datetime, notice: str | None) -> None:
        """Store a poller's state, with a notice for the admins in the same transaction."""
        queued = False
        with self.db.session() as session:
            if notice is not None:
                channel = self.config.alerts.admin_channel
                if channel is None:
                    log.warning("no alerts.admin_channel configured; admins not told: %s", notice)
                else:
                    card = NoticeCard(conversation_id=None, text=notice)
                    queued = self.ctx.queue(session, card, [channel]) > 0
            source_store.save_state(session, state, now)
        if queued:
            self.dispatcher.wake()

    def running_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the bot runs on, while it runs (for work handed over from threads)."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return None
        return loop

    def on_config_change(self, listener: Callable[[CrmbotConfig], None]) -> None:
        """Call ``listener`` after each config swap (e.g. pollers re-sync their jobs)."""
        self.config_listeners.append(listener)

    def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """Store a batch of events (one transaction) and queue its alerts."""
        result = self.ingestor.ingest(events)
        self.metrics.stored(result.stored)
        if result.stored:
            self.relabeller.request()  # in the background: never delays the alerts
        if result.enrichments:
            self.enricher.request()  # reads the CRM in the background, after the answer
        return result

    def ingest_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store several requests' events in one transaction; one result per group."""
        results = self.ingestor.ingest_groups(groups)
        stored = sum(r.stored for r in results)
        self.metrics.stored(stored)
        if stored:
            self.relabeller.request()
        if any(r.enrichments for r in results):
            self.enricher.request()
        return results

    def command(self, actor: Actor, text: str, channel: str | None = None) -> Reply:
        """Run ``/crm <text>`` as ``actor``."""
        return handle_command(self.ctx, Command(actor=actor, text=text, channel=channel))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.suggestions.bind_loop(self._loop)
        self.relabeller.bind_loop(self._loop)
        self.enricher.bind_loop(self._loop)
        self.enricher.request()  # what was left pending before a restart
        for adapter in self.adapters.values():
            await adapter.start()

    async def stop(self, grace: float | None = None) -> None:
        """Finish background drafts and relabels and disconnect the adapters (all within
        ``grace`` seconds when given; what runs over is cancelled), then release the
        workers and the database."""
        loop = asyncio.get_running_loop()
        deadline = None if grace is None else loop.time() + grace
        steps = [
            self.suggestions.idle(),
            self.relabeller.idle(),
            self.enricher.idle(),
            *(a.stop() for a in self.adapters.values()),
        ]
        for step in steps:
            left = None if deadline is None else max(0.1, deadline - loop.time())
            try:
                await asyncio.wait_for(step, left)
            except TimeoutError:
                log.warning("a shutdown step ran over the %.0fs allowed: cancelled", grace)
            except Exception:
                log.exception("a shutdown step failed")
        self.enricher.close()
        await close_publishers(self.ctx.publishers)
        self.ingestor.close()
        self.db.dispose()
