"""Per-minute counters and cooldown state of spike rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.ingest_sql import table
from storage.models import SpikeBucket


def add_counts(conn: Connection, minute: datetime, counts: dict[str, int]) -> None:
    """Add ``counts`` (spike name -> mentions) to the bucket of ``minute`` (an upsert)."""
    if not counts:
        return
    t = table(SpikeBucket)
    maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = maker(t).values([{"spike": k, "minute": minute, "count": v} for k, v in counts.items()])
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.spike, t.c.minute], set_={"count": t.c.count + stmt.excluded.count}
    )
    conn.execute(stmt)


def buckets(conn: Connection, spike: str, since: datetime, until: datetime) -> dict[datetime, int]:
    """minute -> count for ``spike`` in [since, until)."""
    t = table(SpikeBucket)
    rows = conn.execute(
        select(t.c.minute, t.c.count).where(
            t.c.spike == spike, t.c.minute >= since, t.c.minute < until
        )
    )
    return {minute: count for minute, count in rows}


def prune(conn: Connection, before: datetime) -> int:
    """Drop buckets older than any baseline needs; returns how many."""
    t = table(SpikeBucket)
    result = conn.execute(t.delete().where(t.c.minute < before))
    return int(result.rowcount or 0)
