"""The APScheduler instance of `crmbot run`: jobs persist in the bot's own database, so a
restart neither loses nor doubles them (escalations, pollers, digests, reports)."""

from __future__ import annotations

from datetime import UTC

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

JOBS_TABLE = "apscheduler_jobs"


def make_scheduler(engine: Engine) -> AsyncIOScheduler:
    """A scheduler whose default job store is a table in the bot's database.

    Missed runs are coalesced into one and run up to 5 minutes late (e.g. after a
    restart); a job never runs twice at once.
    """
    return AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=UTC,
    )
