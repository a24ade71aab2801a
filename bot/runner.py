"""`crmbot run`: the long-running process (HTTP server, dispatcher, scheduler, adapters)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import jobs, process_tuning
from bot.app import CrmBot
from bot.assembly import http_routes, schedule_jobs
from bot.dispatch_warmup import warm_up, warm_up_ingest
from bot.escalations import EscalationTimers, schedule_checks
from bot.job_runs import JobRuns
from bot.reload import ConfigReloader
from bot.scheduler import make_scheduler
from bot.server import build_http_app
from bot.settings import Settings

log = logging.getLogger(__name__)

# SIGTERM to exit stays under 10 s even when a chat API hangs: the dispatcher gets
# DRAIN_GRACE to finish what it is posting, then in-flight posts are cancelled (their rows
# stay pending for the next start); HTTP and the adapters get STOP_GRACE each.
DRAIN_GRACE = 3.0
STOP_GRACE = 2.0


async def serve(
    bot: CrmBot,
    settings: Settings,
    host: str,
    port: int,
    reloader: ConfigReloader | None = None,
) -> None:
    """Run until SIGINT/SIGTERM: HTTP on ``host:port``, the dispatcher and the scheduler;
    with a ``reloader``, SIGHUP and changes of the config file reload it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    if reloader is not None:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, lambda: reloader.reload("SIGHUP"))
        await asyncio.to_thread(reloader.share_at_start)
        tasks.append(asyncio.create_task(reloader.watch(stop)))
        tasks.append(asyncio.create_task(reloader.follow(stop)))
    app = build_http_app(bot, http_routes(bot, settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=int(STOP_GRACE),
        )
    )
    # each firing is claimed in the database before it runs (bot/job_runs.py)
    runs = JobRuns(bot.db, bot.dispatcher.holder, bot.clock.now)
    scheduler = make_scheduler(bot.db.engine, runs)
    jobs.bind(bot)
    EscalationTimers(bot, scheduler)
    schedule_checks(scheduler)
    schedule_jobs(bot, scheduler, settings)
    await bot.start()
    # every replica writes jobs to the shared job store; only the leader runs them
    leadership = bot.leadership
    scheduler.start(paused=not leadership.is_leader())
    leadership.on_change.append(lambda leader: _lead(scheduler, leader))
    leadership.on_tick.append(scheduler.wakeup)  # jobs other replicas added
    tasks.append(asyncio.create_task(leadership.run(stop)))
    tasks.append(asyncio.create_task(runs.run(stop, leadership.is_leader)))
    # the delivery statements compiled before /healthz answers: no slow first alerts
    warmed = await asyncio.to_thread(warm_up, bot.dispatcher)
    warmed += await asyncio.to_thread(warm_up_ingest, bot.ingestor, bot.clock)
    log.debug("alert path warmed up in %.0f ms", warmed * 1000)
    # start-up's objects frozen, the collector and thread switches paced for serving
    process_tuning.settle()
    dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
    tasks.append(asyncio.create_task(bot.publish_worker.run(stop)))  # replies to customers
    http = asyncio.create_task(server.serve())
    log.info("crmbot running: http://%s:%d/healthz", host, port)
    try:
        await stop.wait()
    finally:
        log.info("crmbot stopping")
        stop.set()
        server.should_exit = True
        scheduler.shutdown(wait=False)
        await _finish(dispatcher, DRAIN_GRACE, "the dispatcher")
        await _finish(asyncio.gather(http, *tasks, return_exceptions=True), STOP_GRACE, "HTTP")
        await bot.stop(grace=STOP_GRACE)
        jobs.bind(None)
        log.info("crmbot stopped")


async def _finish(work: asyncio.Future[Any], grace: float, what: str) -> None:
    """Let ``work`` end within ``grace`` seconds, else cancel it (and never raise)."""
    done, _ = await asyncio.wait({work}, timeout=grace)
    if done:
        with contextlib.suppress(BaseException):
            work.result()
        return
    log.warning("%s did not stop within %.0fs: cancelled (unsent rows stay queued)", what, grace)
    work.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(work, timeout=1.0)


def _lead(scheduler: AsyncIOScheduler, leader: bool) -> None:
    """Run the scheduled jobs while this replica leads; hold them otherwise."""
    if not scheduler.running:  # shutting down
        return
    if leader:
        scheduler.resume()
    else:
        scheduler.pause()
