"""Scheduled job functions. APScheduler's persistent job store keeps a job as the import
path of its function plus plain arguments, so these are module-level functions that reach
the running bot through :func:`bind` (set once by `crmbot run`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.job_runs import forget_job_runs
from handlers import once
from handlers.escalation import check_repeats, check_unclaimed, escalate
from handlers.spikes import check_spikes

if TYPE_CHECKING:
    from bot.app import CrmBot

log = logging.getLogger(__name__)

_bot: CrmBot | None = None


def bind(bot: CrmBot | None) -> None:
    """Make ``bot`` the one scheduled jobs act on (None unbinds)."""
    global _bot
    _bot = bot


def current() -> CrmBot:
    if _bot is None:
        raise RuntimeError("no running bot is bound for scheduled jobs")
    return _bot


def run_escalation(conversation_id: int, cycle: int, route_index: int) -> None:
    """Escalate the conversation if nobody claimed it (a claim makes this a no-op)."""
    if escalate(current().ctx, conversation_id, cycle, route_index):
        log.info("escalated conversation %s (cycle %s)", conversation_id, cycle)


def run_spike_checks() -> None:
    """Fire spike rules whose window is over their baseline."""
    for conversation_id in check_spikes(current().ctx):
        log.info("spike alert: conversation %s", conversation_id)


def run_delivery_prune() -> None:
    """Forget old inbound delivery keys (handlers/once.py) and old job firings
    (bot/job_runs.py)."""
    bot = current()
    pruned = once.prune(bot.db, bot.clock.now())
    if pruned:
        log.info("forgot %d old inbound delivery keys", pruned)
    forgotten = forget_job_runs(bot.db, bot.clock.now())
    if forgotten:
        log.info("forgot %d old scheduled job firings", forgotten)


def run_weekly_report() -> None:
    """Post the weekly digest to the managers' channel (``[reports] channel``)."""
    from bot.reports import post_weekly_report

    post_weekly_report(current())


def run_unclaimed_checks() -> None:
    """Fire ``unclaimed_for`` rules."""
    for conversation_id in check_unclaimed(current().ctx):
        log.info("unclaimed reminder: conversation %s", conversation_id)
    repeated = check_repeats(current().ctx)
    if repeated:
        log.info("re-posted %d unclaimed alerts (repeat_interval)", len(repeated))


def run_retention() -> None:
    """Apply ``[retention]``: erase or delete what is older than the configured ages."""
    from handlers.retention import apply_retention

    bot = current()
    apply_retention(bot.db, bot.config.retention, bot.clock.now())
