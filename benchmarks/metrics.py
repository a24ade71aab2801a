"""metrics_30d_p95_ms_sqlite, metrics_30d_p95_ms_postgres, metrics_speedup_vs_groupby,
metrics_percentile_error (BENCHMARKS.md).

Builds N conversations (one year, ~8% reopened) and ~5 handling events per conversation
(alerted, claimed, replied, resolved; 30% of cycles also escalated by the bot, 30% handed
off to a colleague; + reopen cycles), rebuilds the rollups, then times
`/crm metrics 30d`'s computation (rollups) against the plain GROUP BY/window query over the
raw rows (:func:`storage.metrics.compute_raw`) on the same data in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import create_engine, text

from benchmarks.common import emit
from handlers.percentiles import nearest_rank
from storage import metrics, migrate, rollups
from storage.db import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
TEAMS, SOURCES = ("support", "sales", "social"), ("twitter", "reddit", "mastodon", "bluesky")
SEVERITIES = ("low", "normal", "normal", "high", "critical")
EXTRA_SHARE = (
    0.3  # of cycles escalated by the bot, and of cycles handed off: ~5 events/conversation
)


def _ts(db: Database, when: datetime) -> Any:
    return when.replace(tzinfo=None) if not db.is_sqlite else when.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(db: Database, conversations: int, seed: int = 5) -> int:
    """Fill ``db`` with ``conversations`` conversations; returns the handling events written."""
    rng = random.Random(seed)
    written = 0
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO staff (id, name, display_name, role, created_at) VALUES "
                          + ", ".join(f"({i}, 's{i}', 's{i}', 'staff', :t)" for i in range(1, 31))),
                     {"t": _ts(db, NOW)})  # fmt: skip
    span = 365 * 86400
    batch = 20_000
    with Progress() as progress:
        task = progress.add_task("conversations", total=conversations)
        for start in range(1, conversations + 1, batch):
            convs, cycles, events = [], [], []
            for cid in range(start, min(start + batch, conversations + 1)):
                received = NOW - timedelta(seconds=rng.randrange(span))
                team, source, sev = rng.choice(TEAMS), rng.choice(SOURCES), rng.choice(SEVERITIES)
                staff = rng.randrange(1, 31)
                convs.append({"id": cid, "key": f"k{cid}", "source": source, "team": team,
                              "severity": sev, "t": _ts(db, received)})  # fmt: skip
                n_cycles = 2 if rng.random() < 0.08 else 1
                at = received
                previous = None
                for n in range(1, n_cycles + 1):
                    claim = rng.lognormvariate(5, 1.2)
                    first = claim + rng.lognormvariate(5.5, 1.0)
                    resolution = first + rng.lognormvariate(8, 1.3)
                    resolved = at + timedelta(seconds=resolution)
                    done = resolved <= NOW
                    cycles.append({
                        "cid": cid, "n": n, "source": source, "sev": sev, "team": team,
                        "rec": _ts(db, at), "prev": _ts(db, previous) if previous else None,
                        "ca": _ts(db, at + timedelta(seconds=claim)),
                        "staff": staff, "fa": _ts(db, at + timedelta(seconds=first)),
                        "ra": _ts(db, resolved) if done else None, "rb": staff if done else None,
                        "cs": claim, "fs": first, "rs": resolution if done else None,
                    })  # fmt: skip
                    steps = [("alerted", 0.0, None), ("claimed", claim, staff),
                             ("replied", first, staff), ("resolved", resolution, staff)]  # fmt: skip
                    if rng.random() < EXTRA_SHARE:  # escalated by the bot before the claim
                        steps.append(("escalated", claim / 2, None))
                    if rng.random() < EXTRA_SHARE:  # handed to a colleague, who then acts too
                        steps.append(("handed_off", (claim + first) / 2, staff % 30 + 1))
                    for kind, offset, actor in steps:
                        if kind == "resolved" and not done:
                            continue
                        events.append({"cid": cid, "n": n, "kind": kind, "actor": actor,
                                       "at": _ts(db, at + timedelta(seconds=offset))})  # fmt: skip
                    previous = at
                    at = resolved + timedelta(hours=rng.randrange(1, 48))
                    if at > NOW:
                        break
                    if n < n_cycles:
                        events.append({"cid": cid, "n": n + 1, "kind": "reopened", "actor": staff, "at": _ts(db, at)})  # fmt: skip
            with db.engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO conversation (id, key, kind, source, platform, status, severity,"
                    " team, channels, labels, cycle, mention_count, sentiment, title, created_at,"
                    " last_activity_at) VALUES (:id, :key, 'mention', :source, :source, 'resolved',"
                    " :severity, :team, '[]', '{}', 1, 1, 0.0, '', :t, :t)"), convs)  # fmt: skip
                conn.execute(text(
                    "INSERT INTO cycle (conversation_id, n, source, severity, team, received_at,"
                    " previous_received_at, alerted_at, claimed_at, claimed_by, first_response_at,"
                    " first_response_by, resolved_at, resolved_by, claim_s, first_response_s,"
                    " resolution_s) VALUES (:cid, :n, :source, :sev, :team, :rec, :prev, :rec, :ca,"
                    " :staff, :fa, :staff, :ra, :rb, :cs, :fs, :rs)"), cycles)  # fmt: skip
                conn.execute(text(
                    "INSERT INTO handling_event (conversation_id, cycle, kind, actor_id, at, detail)"
                    " VALUES (:cid, :n, :kind, :actor, :at, '{}')"), events)  # fmt: skip
            written += len(events)
            progress.advance(task, len(convs))
    with db.engine.begin() as conn:
        rollups.rebuild(conn)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if not db.is_sqlite else "ANALYZE"))
    return written


def measure(db: Database, runs: int) -> tuple[float, float, float]:
    """(p95 ms of the rollup path, median ms of the raw path, max percentile error)."""
    since = NOW - timedelta(days=30)
    fast_ms, raw_ms = [], []
    with db.engine.connect() as conn:
        for _ in range(runs):
            began = time.perf_counter()
            fast = metrics.compute(conn, since, fast=True)
            fast_ms.append((time.perf_counter() - began) * 1000)
        for _ in range(3):
            began = time.perf_counter()
            raw = metrics.compute_raw(conn, since)
            raw_ms.append((time.perf_counter() - began) * 1000)
    assert (fast.conversations, fast.cycles, fast.resolved) == (
        raw.conversations,
        raw.cycles,
        raw.resolved,
    )
    errors = []
    pairs = [
        (getattr(fast, a), getattr(raw, a))
        for a in ("time_to_claim", "first_response", "resolution")
    ]
    for sid, figures in raw.staff.items():
        mine = fast.staff[sid]
        assert mine.handled == figures.handled
        pairs += [(mine.claims, figures.claims), (mine.resolutions, figures.resolutions)]
    for got, exact in pairs:
        assert got.count == exact.count
        for g, e in ((got.median, exact.median), (got.p90, exact.p90)):
            errors.append(abs(g - e) / e if e else 0.0)
    p95, raw_median = nearest_rank(fast_ms, 0.95), nearest_rank(raw_ms, 0.5)
    assert p95 is not None and raw_median is not None
    return p95, raw_median, max(errors)


def main(quick: bool = False) -> None:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'metrics.db'}")
        migrate.upgrade(db)
        events = generate(db, n)
        p95, raw, err = measure(db, 40)
        db.dispose()
    emit(
        "metrics_30d_p95_ms_sqlite",
        p95,
        "ms",
        "<= 50",
        conversations=n,
        handling_events=events,
    )
    emit("metrics_groupby_ms_sqlite", raw, "ms", "baseline", conversations=n)
    emit("metrics_speedup_vs_groupby", raw / p95, "ratio", ">= 10", db="sqlite")
    emit("metrics_percentile_error", err, "ratio", "<= 0.005", db="sqlite")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: report and stop
        emit("metrics_30d_p95_ms_postgres", float("nan"), "ms", "<= 50", error=str(exc)[:80])
        return
    try:
        sep = "&" if "?" in PG_URL else "?"
        db = Database(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
        migrate.upgrade(db)
        events = generate(db, n)
        p95, raw, err_pg = measure(db, 40)
        db.dispose()
        emit(
            "metrics_30d_p95_ms_postgres",
            p95,
            "ms",
            "<= 50",
            conversations=n,
            handling_events=events,
        )
        emit("metrics_groupby_ms_postgres", raw, "ms", "baseline", conversations=n)
        emit("metrics_speedup_vs_groupby_postgres", raw / p95, "ratio", ">= 10", db="postgresql")
        emit("metrics_percentile_error_postgres", err_pg, "ratio", "<= 0.005")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
