"""What `crmbot run` is made of: which chat adapters, HTTP routes and scheduled jobs.

Each capability adds itself here in one line, so the runner stays the same.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from starlette.routing import BaseRoute

from bot.app import CrmBot
from bot.chat.base import ChatAdapter
from bot.chat.registry import enabled_adapters
from bot.publish.registry import build_publishers
from bot.reports import schedule_weekly_report
from bot.settings import Settings
from bot.sources.polling import schedule_pollers
from bot.sources.webhooks import webhook_routes
from handlers.config import CrmbotConfig
from handlers.publish_port import Publisher

log = logging.getLogger(__name__)


def chat_adapters(settings: Settings) -> list[ChatAdapter]:
    """The adapters the environment asks for (bot/chat/registry.py); the console when no
    platform is configured."""
    return enabled_adapters(settings)


def reply_publishers(config: CrmbotConfig) -> dict[str, Publisher]:
    """The publishers of replies to customers, by source kind, for the configured sources
    (credentials are read from the environment when a reply is published)."""
    return dict(build_publishers(config))


def http_routes(bot: CrmBot, settings: Settings) -> list[BaseRoute]:
    """Routes served next to /healthz: adapters' endpoints, then webhooks."""
    routes: list[BaseRoute] = []
    for adapter in bot.adapters.values():
        routes.extend(adapter.http_routes())
    routes.extend(webhook_routes(bot, settings))
    return routes


def schedule_jobs(bot: CrmBot, scheduler: AsyncIOScheduler, settings: Settings) -> None:
    """Register the recurring jobs (pollers, escalations, digests, reports)."""
    schedule_pollers(bot, scheduler)
    schedule_weekly_report(bot, scheduler)
    # daily; the job reads the live [retention] (a reload needs no re-scheduling)
    scheduler.add_job(
        "bot.jobs:run_retention",
        CronTrigger(hour=3, minute=17, timezone="UTC"),
        id="retention",
        replace_existing=True,
    )
