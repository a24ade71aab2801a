"""Each firing of a scheduled job runs once across replicas, and a one-off job whose run
was cut short (its replica died) runs again on the leader.

APScheduler 3 removes a one-off ("date") job from the job store when it submits it, and
moves a recurring job to its next time: a replica killed while running a job took that
firing with it, and an old leader that has not yet noticed it lost the lead may submit
the same firing as the new one. Here every firing is claimed in the database first
(``job_run``, keyed by job id and scheduled time; storage/job_runs.py): the second claim
of a firing finds it taken and does nothing. The claim is leased and renewed while the
job runs, and marked finished only after it ran; the leader takes over unfinished
one-off firings whose lease ran out and runs them again, so the jobs those are
(escalations) must be safe to repeat: they check the database in the same transaction
as their effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.triggers.date import DateTrigger
from apscheduler.util import iscoroutinefunction_partial, ref_to_obj

from storage import job_runs
from storage.db import Database

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)  # a dead holder's firing is taken over within about this
CHECK_EVERY = 5.0  # seconds between lease renewals and checks for abandoned firings
KEEP_FOR = timedelta(days=1)  # finished firings are forgotten after this

Key = tuple[str, datetime]


class JobRuns:
    """Claims, renews and finishes this replica's job firings; on the leader, runs again
    the one-off firings a dead replica left unfinished."""

    def __init__(
        self,
        db: Database,
        holder: str,
        now: Callable[[], datetime],
        lease: timedelta = LEASE,
    ) -> None:
        self.db = db
        self.holder = holder
        self.now = now
        self.lease = lease
        self._running: set[Key] = set()
        self._guard = threading.Lock()

    def running(self) -> set[Key]:
        """The firings this replica is running now."""
        with self._guard:
            return set(self._running)

    def claim(self, job: Job, fire_time: datetime) -> bool:
        """Claim one firing of ``job`` for this replica; False when it is not ours to run
        (it finished, or another replica is running it)."""
        func, args, kwargs = _rerun_spec(job)
        with self.db.session() as session:
            mine = job_runs.claim(
                session, job.id, fire_time, self.holder, self.now(), self.lease, func, args, kwargs
            )
        if mine:
            with self._guard:
                self._running.add((job.id, fire_time))
        else:
            log.info("job %s (due %s) is run by another replica; skipped", job.id, fire_time)
        return mine

    def finish(self, job_id: str, fire_time: datetime) -> None:
        """Mark a firing this replica ran as finished."""
        with self._guard:
            self._running.discard((job_id, fire_time))
        with self.db.session() as session:
            done = job_runs.finish(session, job_id, fire_time, self.holder, self.now())
        if not done:
            log.warning(
                "job %s (due %s) finished here after another replica took it over",
                job_id,
                fire_time,
            )

    def renew(self) -> None:
        """Extend the leases of the firings this replica is still running."""
        running = self.running()
        if not running:
            return
        with self.db.session() as session:
            kept = job_runs.renew(session, self.holder, running, self.now(), self.lease)
        if kept < len(running):
            log.warning("%d job firings running here were taken over", len(running) - kept)

    async def run(self, stop: asyncio.Event, is_leader: Callable[[], bool]) -> None:
        """Every :data:`CHECK_EVERY` seconds until ``stop`` is set: renew this replica's
        leases and, on the leader, run abandoned one-off firings again (in a task of its
        own, so the leases of a long re-run are renewed meanwhile)."""
        recovering: asyncio.Task[int] | None = None
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.renew)
            except Exception:
                log.exception("renewing scheduled job leases failed; trying again shortly")
            if is_leader() and (recovering is None or recovering.done()):
                recovering = asyncio.create_task(self.recover())
                recovering.add_done_callback(_report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=CHECK_EVERY)
        if recovering is not None and not recovering.done():
            recovering.cancel()  # left unfinished: the next leader runs it again

    async def recover(self) -> int:
        """Run again each one-off firing whose holder died before it finished; returns
        how many ran."""
        ran = 0
        for row in await asyncio.to_thread(self._abandoned):
            key = (row.job_id, row.fire_time)
            if key in self.running() or not await asyncio.to_thread(self._take_over, key):
                continue
            log.warning(
                "job %s (due %s) did not finish on replica %s; running it again here",
                row.job_id,
                row.fire_time,
                row.holder,
            )
            try:
                assert row.func is not None
                func = ref_to_obj(row.func)
                args, kwargs = row.job_args or [], row.job_kwargs or {}
                if iscoroutinefunction_partial(func):
                    await func(*args, **kwargs)
                else:
                    await asyncio.to_thread(func, *args, **kwargs)
            except Exception:
                log.exception("job %s raised an exception", row.job_id)
            await asyncio.to_thread(self.finish, *key)
            ran += 1
        return ran

    def _abandoned(self) -> list[job_runs.JobRun]:
        with self.db.session() as session:
            return job_runs.abandoned(session, self.now())

    def _take_over(self, key: Key) -> bool:
        with self.db.session() as session:
            mine = job_runs.take_over(session, *key, self.holder, self.now(), self.lease)
        if mine:
            with self._guard:
                self._running.add(key)
        return mine


def _report(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("running abandoned job firings failed", exc_info=task.exception())


def forget_job_runs(db: Database, now: datetime) -> int:
    """Forget firings older than :data:`KEEP_FOR` that finished or cannot run again."""
    with db.session() as session:
        return job_runs.prune(session, now - KEEP_FOR)


def _rerun_spec(job: Job) -> tuple[str | None, list[Any] | None, dict[str, Any] | None]:
    """What it takes to run a one-off job again from its row: its function's import path
    and its arguments (plain ids). A recurring job's next firing does its work instead,
    and a job whose arguments are not plain JSON is fenced but not run again."""
    if not isinstance(job.trigger, DateTrigger) or not isinstance(job.func_ref, str):
        return None, None, None
    args, kwargs = list(job.args), dict(job.kwargs)
    try:
        json.dumps([args, kwargs])
    except (TypeError, ValueError):
        log.warning("job %s has arguments that cannot be stored; it will not be re-run", job.id)
        return None, None, None
    return job.func_ref, args, kwargs
