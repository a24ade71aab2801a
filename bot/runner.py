"""`crmbot run`: the long-running process (HTTP server, dispatcher, scheduler, adapters)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from bot.app import CrmBot
from bot.assembly import http_routes, schedule_jobs
from bot.scheduler import make_scheduler
from bot.server import build_http_app
from bot.settings import Settings

log = logging.getLogger(__name__)


async def serve(bot: CrmBot, settings: Settings, host: str, port: int) -> None:
    """Run until SIGINT/SIGTERM: HTTP on ``host:port``, the dispatcher and the scheduler."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    app = build_http_app(bot, http_routes(bot, settings))
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    scheduler = make_scheduler(bot.db.engine)
    schedule_jobs(bot, scheduler, settings)
    await bot.start()
    scheduler.start()
    dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
    http = asyncio.create_task(server.serve())
    log.info("crmbot running: http://%s:%d/healthz", host, port)
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        scheduler.shutdown(wait=False)
        await asyncio.gather(http, dispatcher, return_exceptions=True)
        await bot.stop()
