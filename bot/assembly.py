"""What `crmbot run` is made of: which chat adapters, HTTP routes and scheduled jobs.

Each capability adds itself here in one line, so the runner stays the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from starlette.routing import BaseRoute

from bot.app import CrmBot
from bot.chat.base import ChatAdapter
from bot.chat.registry import enabled_adapters
from bot.publish.registry import build_publishers, close_publishers
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


# how long replaced publishers stay open for a publish already under way (the longest
# outbound timeout is 2 minutes); a publish cut short is retried, asking the platform first
PUBLISHER_CLOSE_GRACE = 150.0


def follow_publishers(
    bot: CrmBot, build: Callable[[CrmbotConfig], Mapping[str, Publisher]] = reply_publishers
) -> None:
    """Rebuild the reply publishers when a reload changes ``[sources]`` (a new outbound
    webhook, another Mastodon table), so replies follow the config without a restart."""
    current = [bot.config.sources]

    def on_config(config: CrmbotConfig) -> None:
        if config.sources == current[0]:
            return
        old = bot.ctx.publishers
        bot.ctx.publishers = build(config)
        current[0] = config.sources
        log.info("reply publishers rebuilt for the new [sources]")
        loop = bot.running_loop()
        if loop is not None:
            asyncio.run_coroutine_threadsafe(_close_later(old), loop)

    bot.on_config_change(on_config)


async def _close_later(publishers: Mapping[str, Publisher]) -> None:
    await asyncio.sleep(PUBLISHER_CLOSE_GRACE)
    await close_publishers(publishers)


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
