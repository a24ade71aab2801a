"""Escalation timers as APScheduler jobs in the persistent job store: one job per
(conversation, cycle, route), so a restart neither loses nor doubles them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler

from bot.app import CrmBot
from bot.jobs import (
    run_delivery_prune,
    run_escalation,
    run_spike_checks,
    run_unclaimed_checks,
)
from handlers.escalation import escalation_routes
from storage import conversations

log = logging.getLogger(__name__)


def job_id(conversation_id: int, cycle: int, route_index: int) -> str:
    return f"escalate:{conversation_id}:{cycle}:{route_index}"


class EscalationTimers:
    """Starts timers when an alert is posted and cancels them when it is claimed."""

    def __init__(self, bot: CrmBot, scheduler: BaseScheduler) -> None:
        self.bot = bot
        self.scheduler = scheduler
        self._pending: set[asyncio.Task[None]] = set()
        bot.dispatcher.on_alerted = self.start
        bot.ctx.on_claimed = self.cancel

    def _labels_and_cycle(self, conversation_id: int) -> tuple[dict[str, str], int]:
        with self.bot.db.session() as session:
            conversation = conversations.get(session, conversation_id)
            if conversation is None:
                return {}, 0
            return dict(conversation.labels), conversation.cycle

    def start(self, conversation_id: int, cycle: int, alerted_at: datetime) -> None:
        """Start the conversation's escalation timers. Called on the event loop right after
        its alert went out, so the database work (reading its labels, storing the jobs)
        runs in a worker thread: on SQLite it may wait for the write lock, and the loop
        must keep posting meanwhile."""
        if not any(route.escalate is not None for route in self.bot.config.routes):
            return  # no route escalates: nothing to read or store
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called from a worker thread: do it here
            self._start(conversation_id, cycle, alerted_at)
            return
        task = loop.create_task(asyncio.to_thread(self._start, conversation_id, cycle, alerted_at))
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("starting escalation timers failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until every timer being started is stored (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _start(self, conversation_id: int, cycle: int, alerted_at: datetime) -> None:
        labels, _ = self._labels_and_cycle(conversation_id)
        for index, rule in escalation_routes(self.bot.config, labels):
            self.scheduler.add_job(
                run_escalation,
                "date",
                run_date=alerted_at + rule.after,
                args=[conversation_id, cycle, index],
                id=job_id(conversation_id, cycle, index),
                replace_existing=True,
            )

    def cancel(self, conversation_id: int) -> None:
        labels, cycle = self._labels_and_cycle(conversation_id)
        for index, _ in escalation_routes(self.bot.config, labels):
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id(conversation_id, cycle, index))


def schedule_checks(scheduler: BaseScheduler) -> None:
    """The minute-by-minute checks: spike rules and ``unclaimed_for`` rules."""
    scheduler.add_job(
        run_spike_checks, "interval", minutes=1, id="spike-checks", replace_existing=True
    )
    scheduler.add_job(
        run_unclaimed_checks, "interval", minutes=1, id="unclaimed-checks", replace_existing=True
    )
    scheduler.add_job(
        run_delivery_prune, "interval", hours=1, id="delivery-prune", replace_existing=True
    )
