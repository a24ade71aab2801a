"""The weekly digest to the managers' channel, scheduled with APScheduler (cron from
``[reports] weekly_cron``); the job itself is :func:`bot.jobs.run_weekly_report`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from handlers.cards import NoticeCard
from handlers.config import CrmbotConfig
from handlers.metrics import metrics_reply
from handlers.replies import Reply
from handlers.reports import chart_reply, weekly_digest
from storage.models import Staff

if TYPE_CHECKING:
    from bot.app import CrmBot

log = logging.getLogger(__name__)
JOB_ID = "weekly-report"


def schedule_weekly_report(bot: CrmBot, scheduler: AsyncIOScheduler) -> None:
    """Register (or replace) the weekly digest job when a channel and cron are configured."""
    reports = bot.ctx.config.reports
    if reports.channel is None or reports.weekly_cron is None:
        return
    scheduler.add_job(
        "bot.jobs:run_weekly_report",
        CronTrigger.from_crontab(reports.weekly_cron, timezone="UTC"),
        id=JOB_ID,
        replace_existing=True,
    )


def digest_text(reply: Reply) -> str:
    """The digest as one plain message: text, then each table as aligned lines."""
    parts = [reply.text]
    for table in reply.tables:
        rows = [table.columns, *table.rows]
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(table.columns))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows
        ]
        parts.append(f"{table.title}\n" + "\n".join(lines))
    return "\n\n".join(parts)


def post_weekly_report(bot: CrmBot) -> int:
    """Queue the digest for the managers' channel; returns how many posts were queued."""
    ctx = bot.ctx
    channel = ctx.config.reports.channel
    if channel is None:
        log.info("weekly report skipped: no [reports] channel configured")
        return 0
    card = NoticeCard(conversation_id=None, text=digest_text(weekly_digest(ctx)))
    with ctx.db.session() as session:
        queued = ctx.queue(session, card, [channel])
    ctx.on_queued()
    return queued


def terminal_report(database_url: str, config: CrmbotConfig, period: str, png: Path | None) -> None:
    """`crmbot report`: the metrics tables in the terminal, charts saved to ``png``."""
    from bot.app import CrmBot
    from bot.chat.console import ConsoleAdapter

    console = ConsoleAdapter()
    bot = CrmBot(database_url, config, [console])
    try:
        manager = Staff(id=0, name="report", role="manager")
        console.show_reply(metrics_reply(bot.ctx, manager, "manager", period))
        if png is not None:
            (chart,) = chart_reply(bot.ctx, period).attachments
            png.write_bytes(chart.data)
            console.console.print(f"charts saved to {png}")
    finally:
        bot.ingestor.close()
        bot.db.dispose()
