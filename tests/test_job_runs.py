"""Each firing of a scheduled job runs once across replicas (SQLite and PostgreSQL): a
firing another replica claimed is skipped, and a one-off firing whose replica died
before it finished runs again on the leader once its lease has run out, once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import select

from bot.job_runs import LEASE, JobRuns, forget_job_runs
from bot.scheduler import FencedExecutor, make_scheduler
from handlers.clock import FakeClock
from storage import migrate
from storage.db import Database
from storage.job_runs import JobRun

RAN: list[tuple[str, int]] = []
RAN_ONCE = threading.Event()


def record(name: str, n: int) -> None:
    """The job under test: notes each run."""
    RAN.append((name, n))
    RAN_ONCE.set()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    RAN.clear()
    RAN_ONCE.clear()
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def _replica(db: Database, name: str, clock: FakeClock) -> tuple[JobRuns, AsyncIOScheduler]:
    runs = JobRuns(db, name, clock.now)
    scheduler = make_scheduler(db.engine, runs)
    scheduler.start(paused=True)  # the executor is live; nothing runs on its own
    return runs, scheduler


def _executor(scheduler: AsyncIOScheduler) -> FencedExecutor:
    executor = scheduler._lookup_executor("default")
    assert isinstance(executor, FencedExecutor)
    return executor


async def _settle(*schedulers: AsyncIOScheduler) -> None:
    for scheduler in schedulers:
        pending = list(_executor(scheduler)._pending_futures)
        await asyncio.gather(*pending, return_exceptions=True)


def _rows(db: Database) -> list[JobRun]:
    with db.session() as session:
        return list(session.exec(select(JobRun)).all())


async def test_a_firing_submitted_by_two_replicas_runs_once(db: Database, clock) -> None:
    _, old_leader = _replica(db, "old", clock)
    _, new_leader = _replica(db, "new", clock)
    due = clock.now()
    job = old_leader.add_job(
        "tests.test_job_runs:record",
        "date",
        run_date=due,
        args=["escalate", 1],
        id="escalate:1",
        misfire_grace_time=None,  # APScheduler measures lateness on the wall clock
    )
    # both leaders process the same due firing (the seconds before the old one steps down)
    _executor(old_leader).submit_job(job, [due])
    _executor(new_leader).submit_job(job, [due])
    await _settle(old_leader, new_leader)
    assert RAN == [("escalate", 1)]
    (row,) = _rows(db)
    assert (row.holder, row.finished_at) == ("old", clock.now())
    # the next firing of a recurring job is a new claim
    later = due + timedelta(minutes=1)
    _executor(new_leader).submit_job(job, [later])
    await _settle(new_leader)
    assert RAN == [("escalate", 1), ("escalate", 1)]
    for scheduler in (old_leader, new_leader):
        scheduler.shutdown(wait=False)


async def test_a_one_off_cut_short_runs_again_once_on_the_leader(db: Database, clock) -> None:
    dead, dead_scheduler = _replica(db, "dead", clock)
    due = clock.now()
    job = dead_scheduler.add_job(
        "tests.test_job_runs:record", "date", run_date=due, args=["escalate", 7], id="escalate:7"
    )
    assert dead.claim(job, due)  # claimed at submission; the process died before it ran
    dead_scheduler.shutdown(wait=False)
    leader = JobRuns(db, "leader", clock.now)

    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await leader.recover() == 0  # its holder's lease still runs: maybe it is alive
    assert RAN == []
    clock.advance(seconds=2)
    assert await leader.recover() == 1
    assert RAN == [("escalate", 7)]
    assert await leader.recover() == 0  # finished: never again
    (row,) = _rows(db)
    assert (row.holder, row.finished_at) == ("leader", clock.now())
    dead.finish("escalate:7", due)  # had it been alive after all, it would not undo that
    assert _rows(db)[0].holder == "leader"
    assert RAN == [("escalate", 7)]


async def test_the_leader_loop_runs_abandoned_firings_and_a_follower_does_not(
    db: Database, clock
) -> None:
    dead, scheduler = _replica(db, "dead", clock)
    due = clock.now()
    job = scheduler.add_job(
        "tests.test_job_runs:record", "date", run_date=due, args=["escalate", 3], id="e3"
    )
    assert dead.claim(job, due)
    scheduler.shutdown(wait=False)
    clock.advance(seconds=LEASE.total_seconds() + 1)
    replica = JobRuns(db, "replica", clock.now)
    asked = asyncio.Event()

    def follower() -> bool:
        asked.set()
        return False

    stop = asyncio.Event()
    loop_task = asyncio.create_task(replica.run(stop, follower))
    await asked.wait()  # its first check, as a follower: nothing runs
    stop.set()
    await loop_task
    assert RAN == []
    stop = asyncio.Event()
    loop_task = asyncio.create_task(replica.run(stop, lambda: True))
    assert await asyncio.to_thread(RAN_ONCE.wait, 30)  # its first check as the leader
    stop.set()
    await loop_task
    assert RAN == [("escalate", 3)]


async def test_a_running_firing_keeps_its_lease(db: Database, clock) -> None:
    busy, scheduler = _replica(db, "busy", clock)
    due = clock.now()
    job = scheduler.add_job(
        "tests.test_job_runs:record", "date", run_date=due, args=["report", 1], id="report"
    )
    assert busy.claim(job, due)
    other = JobRuns(db, "other", clock.now)
    for _ in range(4):  # a long run: its holder renews the lease while it lasts
        clock.advance(seconds=LEASE.total_seconds() / 2)
        busy.renew()
        assert await other.recover() == 0
    assert not other.claim(job, due)
    scheduler.shutdown(wait=False)


async def test_recurring_firings_are_fenced_but_not_run_again(db: Database, clock) -> None:
    dead, scheduler = _replica(db, "dead", clock)
    job = scheduler.add_job(
        "tests.test_job_runs:record", "interval", minutes=1, args=["checks", 1], id="checks"
    )
    due = clock.now()
    assert dead.claim(job, due)
    scheduler.shutdown(wait=False)
    clock.advance(minutes=5)
    leader = JobRuns(db, "leader", clock.now)
    assert await leader.recover() == 0  # the next minute's firing does the work
    assert RAN == []
    clock.advance(days=2)
    assert forget_job_runs(db, clock.now()) == 1
    assert _rows(db) == []


def test_finished_firings_are_forgotten_after_a_day(db: Database, clock) -> None:
    runs = JobRuns(db, "one", clock.now)
    scheduler = make_scheduler(db.engine, runs)
    job = scheduler.add_job(
        "tests.test_job_runs:record", "date", run_date=clock.now(), args=["x", 1], id="x"
    )
    when: datetime = clock.now()
    assert runs.claim(job, when)
    runs.finish("x", when)
    clock.advance(hours=23)
    assert forget_job_runs(db, clock.now()) == 0
    clock.advance(hours=2)
    assert forget_job_runs(db, clock.now()) == 1


async def test_a_job_another_replica_removed_does_not_stop_the_scheduler(
    db: Database, clock
) -> None:
    _, first = _replica(db, "first", clock)
    _, second = _replica(db, "second", clock)
    job = first.add_job(
        "tests.test_job_runs:record", "date", run_date=clock.now(), args=["x", 1], id="x"
    )
    # both replicas processed the due job; the first already removed it from the store
    first.remove_job("x")
    store = second._lookup_jobstore("default")
    store.update_job(job)  # APScheduler raised JobLookupError here, stopping its loop
    store.remove_job("x")
    assert second.get_jobs() == []
    for scheduler in (first, second):
        scheduler.shutdown(wait=False)
