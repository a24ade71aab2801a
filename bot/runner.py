"""`crmbot run`: the long-running process (HTTP server, dispatcher, chat adapters)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from bot.app import CrmBot
from bot.server import build_http_app

log = logging.getLogger(__name__)


async def serve(bot: CrmBot, host: str, port: int) -> None:
    """Run until SIGINT/SIGTERM: HTTP on ``host:port`` and the outbox dispatcher."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    config = uvicorn.Config(
        build_http_app(bot), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    await bot.start()
    dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
    http = asyncio.create_task(server.serve())
    log.info("crmbot running: http://%s:%d/healthz", host, port)
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        await asyncio.gather(http, dispatcher, return_exceptions=True)
        await bot.stop()
