"""Running the pollers: one APScheduler interval job per ``[sources.<kind>.<name>]`` table.

Jobs persist in the scheduler's job store (the bot database), so what a job names must
survive pickling: the job is the module-level coroutine :func:`poll_job` with the plain
strings ``(kind, name)`` as arguments. It reaches the running bot through the one
module-level slot ``_runtime``, set by :func:`schedule_pollers` when ``crmbot run``
starts and cleared at shutdown. Nothing else is global.

A poll: skip while backing off -> ``connector.poll(cursor)`` -> ingest the events (one
transaction) -> save the new cursor. A crash between the last two re-reads a few items
next time, which ingest's deduplication drops. A failure backs off exponentially (capped,
honouring Retry-After); after ``[sources] notify_after_failures`` failures in a row the
admins get one notice in ``alerts.admin_channel``, and one more when the source recovers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.schedulers.base import BaseScheduler

from bot.sources.backoff import backoff_delay, due
from bot.sources.base import Connector, PollResult
from bot.sources.errors import SourceError
from bot.sources.registry import make_connector
from handlers.config_sources import PollerConfig
from handlers.durations import format_duration
from handlers.source_port import SourceSink, SourceState

log = logging.getLogger(__name__)

JOB_PREFIX = "source:"

Outcome = Literal["polled", "failed", "waiting", "disabled", "unconfigured", "store-failed"]

_runtime: PollingRuntime | None = None


@dataclass(slots=True)
class PollReport:
    """What one poll did (for logs and tests)."""

    outcome: Outcome
    stored: int = 0
    duplicates: int = 0
    error: str | None = None


def job_id(kind: str, name: str) -> str:
    return f"{JOB_PREFIX}{kind}:{name}"


async def poll_job(kind: str, name: str) -> None:
    """The scheduled job: poll one source through the running bot."""
    runtime = _runtime
    if runtime is None:
        log.warning("poller %s.%s ran with no bot running; skipped", kind, name)
        return
    await runtime.poll(kind, name)


def install(runtime: PollingRuntime | None) -> None:
    """Make ``runtime`` the one that scheduled jobs reach (None to clear)."""
    global _runtime
    _runtime = runtime


def current() -> PollingRuntime | None:
    """The installed runtime, if the bot is running."""
    return _runtime


def schedule_pollers(
    bot: SourceSink, scheduler: BaseScheduler, env: Mapping[str, str] | None = None
) -> PollingRuntime:
    """Install a runtime for ``bot`` and add one interval job per enabled poller.

    Each job's first run is right after start; a source that is backing off stays backing
    off across restarts, because its ``next_attempt_at`` is in the database.
    """
    runtime = PollingRuntime(bot, env=env, scheduler=scheduler)
    install(runtime)
    runtime.sync_jobs()
    bot.on_config_change(lambda _config: runtime.sync_jobs())
    scheduler.add_listener(runtime.on_scheduler_event, EVENT_SCHEDULER_SHUTDOWN)
    return runtime


class PollingRuntime:
    """Polls sources for one running bot; keeps each source's connector between polls."""

    def __init__(
        self,
        bot: SourceSink,
        env: Mapping[str, str] | None = None,
        scheduler: BaseScheduler | None = None,
    ) -> None:
        self.bot = bot
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.scheduler = scheduler
        self._connectors: dict[tuple[str, str], tuple[PollerConfig, Connector]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def sync_jobs(self) -> None:
        """Bring the scheduler's poller jobs in line with the live config.

        Called at start; call it again after a config reload to start new sources, stop
        removed or disabled ones and apply changed intervals (unchanged jobs are kept, so
        a reload does not make every source poll at once).
        """
        scheduler = self.scheduler
        if scheduler is None:
            return
        sources = self.bot.config.sources
        wanted: dict[str, tuple[str, str, int]] = {}
        for kind, name in sources.pollers():
            config = sources.poller(kind, name)
            if config is not None and config.enabled:
                wanted[job_id(kind, name)] = (kind, name, int(config.every.total_seconds()))
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                log.info("stopped polling %s", job.id.removeprefix(JOB_PREFIX))
                scheduler.remove_job(job.id)
        now = datetime.now(UTC)
        for job_key, (kind, name, seconds) in wanted.items():
            existing = scheduler.get_job(job_key)
            interval = getattr(existing.trigger, "interval", None) if existing else None
            if interval == timedelta(seconds=seconds):
                continue
            scheduler.add_job(
                poll_job,
                "interval",
                args=[kind, name],
                id=job_key,
                name=f"poll {kind}.{name}",
                seconds=seconds,
                next_run_time=now,
                replace_existing=True,
            )
            log.info("polling %s.%s every %s", kind, name, format_duration(seconds))

    async def poll(self, kind: str, name: str) -> PollReport:
        """Poll one source once (or not, while it backs off); never raises."""
        async with self._locks.setdefault((kind, name), asyncio.Lock()):
            try:
                return await self._poll(kind, name)
            except Exception:
                log.exception(
                    "poller %s.%s: storing failed; nothing is lost, the next poll re-reads "
                    "from the saved cursor",
                    kind,
                    name,
                )
                return PollReport("store-failed")

    async def _poll(self, kind: str, name: str) -> PollReport:
        sources = self.bot.config.sources
        config = sources.poller(kind, name)
        if config is None:
            self._forget(kind, name)
            return PollReport("unconfigured")
        if not config.enabled:
            return PollReport("disabled")
        now = self.bot.clock.now()
        state = await asyncio.to_thread(self._load, kind, name)
        if not due(state.next_attempt_at, now, config.every):
            return PollReport("waiting")
        try:
            result = await self._connector(kind, name, config).poll(dict(state.cursor), now)
        except SourceError as exc:
            error = exc
        except Exception as exc:
            log.exception("poller %s.%s: unexpected error", kind, name)
            error = SourceError(f"unexpected error ({type(exc).__name__}); see the bot's log")
        else:
            return await self._store(state, result, now)
        await asyncio.to_thread(self._failed, state, config, error, now)
        return PollReport("failed", error=error.reason)

    async def _store(self, state: SourceState, result: PollResult, now: datetime) -> PollReport:
        stored = duplicates = 0
        if result.events:
            ingested = await asyncio.to_thread(self.bot.ingest, result.events)
            stored, duplicates = ingested.stored, ingested.duplicates
        await asyncio.to_thread(self._succeeded, state, result, now)
        if stored or duplicates:
            log.info(
                "poller %s.%s: %d new, %d already seen", state.kind, state.name, stored, duplicates
            )
        return PollReport("polled", stored=stored, duplicates=duplicates)

    # -- state (run in a worker thread) ---------------------------------------

    def _load(self, kind: str, name: str) -> SourceState:
        return self.bot.load_source_state(kind, name)

    def _succeeded(self, state: SourceState, result: PollResult, now: datetime) -> None:
        recovered = state.broken_since
        state.cursor = result.cursor
        state.failures = 0
        state.last_error = None
        state.next_attempt_at = None
        state.broken_since = None
        state.last_success_at = now
        notice = None
        if recovered is not None:
            took = format_duration((now - recovered).total_seconds())
            log.info("poller %s.%s recovered", state.kind, state.name)
            notice = (
                f"✅ Source {state.kind} '{state.name}' has recovered (it was failing for "
                f"{took}); polling as usual again."
            )
        self.bot.save_source_state(state, now, notice)

    def _failed(
        self, state: SourceState, config: PollerConfig, error: SourceError, now: datetime
    ) -> None:
        sources = self.bot.config.sources
        state.failures += 1
        state.last_error = error.reason[:500]
        delay = backoff_delay(state.failures, config.every, sources.max_backoff, error.retry_after)
        state.next_attempt_at = now + delay
        log.warning(
            "poller %s.%s failed (%d in a row): %s; next try in %s",
            state.kind,
            state.name,
            state.failures,
            error.reason,
            format_duration(delay.total_seconds()),
        )
        notice = None
        if state.broken_since is None and state.failures >= sources.notify_after_failures:
            state.broken_since = now
            notice = (
                f"⚠️ Source {state.kind} '{state.name}' is failing: {error.reason}. "
                f"{state.failures} polls in a row failed; retrying with backoff (next try "
                f"in {format_duration(delay.total_seconds())}). You will be told once it "
                "recovers."
            )
        self.bot.save_source_state(state, now, notice)

    # -- connectors -----------------------------------------------------------

    def _connector(self, kind: str, name: str, config: PollerConfig) -> Connector:
        key = (kind, name)
        known = self._connectors.get(key)
        if known is not None and known[0] == config:
            return known[1]
        if known is not None:
            self._close_later(known[1])
        connector = make_connector(kind, config, self.env)
        self._connectors[key] = (config, connector)
        return connector

    def _forget(self, kind: str, name: str) -> None:
        known = self._connectors.pop((kind, name), None)
        if known is not None:
            self._close_later(known[1])
        if self.scheduler is not None and self.scheduler.get_job(job_id(kind, name)):
            log.info("source %s.%s is no longer configured: its job is removed", kind, name)
            self.scheduler.remove_job(job_id(kind, name))

    def _close_later(self, connector: Connector) -> None:
        task = asyncio.get_running_loop().create_task(connector.close())
        self._closing.add(task)
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("closing a source connector failed: %r", task.exception())

    async def close(self) -> None:
        """Close every connector (at shutdown)."""
        connectors = [c for _, c in self._connectors.values()]
        self._connectors.clear()
        for connector in connectors:
            try:
                await connector.close()
            except Exception:
                log.exception("closing a source connector failed")
        if current() is self:
            install(None)

    def on_scheduler_event(self, event: SchedulerEvent) -> None:
        """Scheduler shutdown: close the connectors (on the running loop)."""
        try:
            task = asyncio.get_running_loop().create_task(self.close())
        except RuntimeError:
            install(None)
            return
        self._closing.add(task)
        task.add_done_callback(self._closed)
