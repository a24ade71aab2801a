"""Job runs: one row per firing of a scheduled job, so a firing runs once across replicas.

A replica claims a firing (job id + scheduled time) before it runs it: the row is
inserted with ``ON CONFLICT DO NOTHING``, so when two replicas (an old leader that has
not noticed it lost the lead, and the new one) submit the same firing, only the first
runs it. The claim carries a lease that the running replica renews; a firing whose
holder died keeps an unfinished row whose lease runs out, and for a one-off job (whose
function and arguments are kept on the row) the leader takes it over and runs it again.
A firing is marked finished only after it ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, CursorResult, Index, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime


class JobRun(SQLModel, table=True):
    """One firing of a scheduled job: who runs it, until when, and whether it finished.

    ``func`` (an import path), ``job_args`` and ``job_kwargs`` are kept for one-off jobs only:
    their job is gone from the job store once submitted, so the row is all that is left
    to run it again if its holder dies."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_open", "finished_at", "lease_until"),)

    job_id: str = Field(primary_key=True)
    fire_time: datetime = Field(primary_key=True, sa_type=UTCDateTime())
    holder: str
    started_at: datetime = Field(sa_type=UTCDateTime())
    lease_until: datetime = Field(sa_type=UTCDateTime())
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), nullable=True)
    func: str | None = None
    job_args: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    job_kwargs: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def _insert(session: Session, values: dict[str, Any]) -> bool:
    table = JobRun.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(values).on_conflict_do_nothing().returning(table.c.job_id)
    return session.connection().execute(statement).first() is not None


def _changed(session: Session, statement: Any) -> int:
    """Rows an UPDATE or DELETE touched (run on the session's connection, as Core)."""
    result: CursorResult[Any] = session.connection().execute(statement)
    return int(result.rowcount or 0)


def _key(job_id: str, fire_time: datetime) -> Any:
    return (col(JobRun.job_id) == job_id) & (col(JobRun.fire_time) == fire_time)


def claim(
    session: Session,
    job_id: str,
    fire_time: datetime,
    holder: str,
    now: datetime,
    ttl: timedelta,
    func: str | None = None,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
) -> bool:
    """Claim the firing for ``holder`` until ``now + ttl``. True when it is this
    holder's to run: nobody claimed it yet, or its holder's lease ran out before it
    finished. False when it finished or another holder's lease is still running."""
    values = {
        "job_id": job_id,
        "fire_time": fire_time,
        "holder": holder,
        "started_at": now,
        "lease_until": now + ttl,
        "func": func,
        "job_args": args,
        "job_kwargs": kwargs,
    }
    if _insert(session, values):
        return True
    return take_over(session, job_id, fire_time, holder, now, ttl)


def take_over(
    session: Session, job_id: str, fire_time: datetime, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take an unfinished firing whose lease ran out (its holder died); True when taken.
    The guard is in the UPDATE, so of two replicas taking it over at once one wins."""
    return (
        _changed(
            session,
            update(JobRun)
            .where(
                _key(job_id, fire_time),
                col(JobRun.finished_at).is_(None),
                col(JobRun.lease_until) < now,
            )
            .values(holder=holder, started_at=now, lease_until=now + ttl),
        )
        == 1
    )


def finish(session: Session, job_id: str, fire_time: datetime, holder: str, now: datetime) -> bool:
    """Mark the firing finished; False when another holder took it over meanwhile."""
    return (
        _changed(
            session,
            update(JobRun)
            .where(_key(job_id, fire_time), col(JobRun.holder) == holder)
            .where(col(JobRun.finished_at).is_(None))
            .values(finished_at=now),
        )
        == 1
    )


def renew(
    session: Session,
    holder: str,
    firings: Iterable[tuple[str, datetime]],
    now: datetime,
    ttl: timedelta,
) -> int:
    """Extend the holder's leases on ``firings`` (job id, scheduled time) it is still
    running; returns how many it still held."""
    kept = 0
    for job_id, fire_time in firings:
        kept += _changed(
            session,
            update(JobRun)
            .where(_key(job_id, fire_time), col(JobRun.holder) == holder)
            .where(col(JobRun.finished_at).is_(None))
            .values(lease_until=now + ttl),
        )
    return kept


def abandoned(session: Session, now: datetime, limit: int = 50) -> list[JobRun]:
    """Unfinished one-off firings whose holder's lease ran out, oldest first."""
    return list(
        session.exec(
            select(JobRun)
            .where(
                col(JobRun.finished_at).is_(None),
                col(JobRun.lease_until) < now,
                col(JobRun.func).is_not(None),
            )
            .order_by(col(JobRun.fire_time))
            .limit(limit)
        ).all()
    )


def prune(session: Session, before: datetime) -> int:
    """Forget firings scheduled before ``before`` that finished, or that nobody can run
    again (a recurring job's firing: its next one does the work)."""
    return _changed(
        session,
        delete(JobRun).where(
            col(JobRun.fire_time) < before,
            or_(col(JobRun.finished_at).is_not(None), col(JobRun.func).is_(None)),
        ),
    )
