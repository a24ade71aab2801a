"""Escalation timers as APScheduler jobs in the persistent job store: one job per
(conversation, cycle, route), so a restart neither loses nor doubles them."""

from __future__ import annotations

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
        bot.dispatcher.on_alerted = self.start
        bot.ctx.on_claimed = self.cancel

    def _labels_and_cycle(self, conversation_id: int) -> tuple[dict[str, str], int]:
        with self.bot.db.session() as session:
            conversation = conversations.get(session, conversation_id)
            if conversation is None:
                return {}, 0
            return dict(conversation.labels), conversation.cycle

    def start(self, conversation_id: int, cycle: int, alerted_at: datetime) -> None:
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
