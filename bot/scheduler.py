"""The APScheduler instance of `crmbot run`: jobs persist in the bot's own database, so a
restart neither loses nor doubles them (escalations, pollers, digests, reports), and
every firing is claimed in the database before it runs (bot/job_runs.py), so replicas
sharing the job store run it once."""

from __future__ import annotations

import asyncio
import logging
import sys
from asyncio import Future
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import JobExecutionEvent
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_coroutine_job, run_job
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.util import iscoroutinefunction_partial
from sqlalchemy import Engine

from bot.job_runs import JobRuns

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"


def make_scheduler(engine: Engine, runs: JobRuns | None = None) -> AsyncIOScheduler:
    """A scheduler whose default job store is a table in the bot's database.

    Missed runs are coalesced into one and run up to 5 minutes late (e.g. after a
    restart); a job never runs twice at once. With ``runs``, each firing is claimed
    first and runs only on the replica whose claim won.
    """
    executors: dict[str, Any] = {}
    if runs is not None:
        executors["default"] = FencedExecutor(runs)
    return AsyncIOScheduler(
        jobstores={"default": SharedJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors=executors,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=UTC,
    )


class SharedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The SQLAlchemy job store, tolerant of another replica having already moved or
    removed a job (an old leader and a new one may both process a due job for a moment;
    APScheduler would otherwise stop on ``JobLookupError``)."""

    def update_job(self, job: Job) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            log.info("job %s was already removed by another replica", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            super().remove_job(job_id)
        except JobLookupError:
            log.info("job %s was already removed by another replica", job_id)


class FencedExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """APScheduler's asyncio executor, claiming each firing before running it.

    The claim is written when the job is submitted, on the scheduler's own thread and
    before APScheduler removes a one-off job from the store: a replica that dies after
    that leaves a claim the leader takes over (bot/job_runs.py). Firings another replica
    claimed are skipped; each firing is marked finished after it ran.
    """

    def __init__(self, runs: JobRuns) -> None:
        super().__init__()
        self.runs = runs

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        mine = [when for when in run_times if self.runs.claim(job, when)]
        alias = job._jobstore_alias
        logger = self._logger.name
        if iscoroutinefunction_partial(job.func):
            future: Future[list[JobExecutionEvent]] = self._eventloop.create_task(
                self._run_async(job, alias, mine, logger)
            )
        else:
            future = self._eventloop.run_in_executor(None, self._run_sync, job, alias, mine, logger)
        future.add_done_callback(lambda f: self._done(job, f))
        self._pending_futures.add(future)

    def _run_sync(
        self, job: Job, alias: str, run_times: list[datetime], logger: str
    ) -> list[JobExecutionEvent]:
        events: list[JobExecutionEvent] = []
        for when in run_times:  # run_job logs and reports a job's own exception
            events.extend(run_job(job, alias, [when], logger))
            self.runs.finish(job.id, when)
        return events

    async def _run_async(
        self, job: Job, alias: str, run_times: list[datetime], logger: str
    ) -> list[JobExecutionEvent]:
        events: list[JobExecutionEvent] = []
        for when in run_times:  # cancelled (shutdown): left unfinished, not marked done
            events.extend(await run_coroutine_job(job, alias, [when], logger))
            await asyncio.to_thread(self.runs.finish, job.id, when)
        return events

    def _done(self, job: Job, future: Future[list[JobExecutionEvent]]) -> None:
        self._pending_futures.discard(future)
        try:
            events = future.result()
        except BaseException:
            self._run_job_error(job.id, *sys.exc_info()[1:])
        else:
            self._run_job_success(job.id, events)
