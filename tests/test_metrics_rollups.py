"""The rollup path of `/crm metrics` gives the exact path's figures on a generated year of
conversations (the benchmark's generator, small), for periods starting at midnight, on a
whole hour and mid-hour, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from benchmarks.metrics import NOW, generate
from storage import metrics, migrate
from storage.db import Database
from storage.metrics_report import Distribution, MetricsReport

ACCURACY = 0.004  # the sketches' relative accuracy (storage/rollup_sketch.py)


def _same(fast: Distribution, exact: Distribution) -> None:
    assert fast.count == exact.count
    if not exact.count:
        assert fast == exact
        return
    assert fast.average is not None and exact.average is not None
    assert abs(fast.average - exact.average) <= 1e-9 * exact.average
    for got, want in ((fast.median, exact.median), (fast.p90, exact.p90)):
        assert got is not None and want is not None
        assert abs(got - want) <= ACCURACY * want + 1e-9


def _check(fast: MetricsReport, exact: MetricsReport) -> None:
    assert (fast.conversations, fast.cycles, fast.resolved, fast.open_now) == (
        exact.conversations,
        exact.cycles,
        exact.resolved,
        exact.open_now,
    )
    for attr in ("time_to_claim", "first_response", "resolution"):
        _same(getattr(fast, attr), getattr(exact, attr))
    assert fast.staff.keys() == exact.staff.keys()
    for staff_id, mine in fast.staff.items():
        theirs = exact.staff[staff_id]
        assert mine.handled == theirs.handled
        for attr in ("claims", "first_responses", "resolutions"):
            _same(getattr(mine, attr), getattr(theirs, attr))


def test_rollups_equal_the_rows_on_a_generated_year(database_url: str) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    assert generate(db, 3000, seed=11) > 14_000  # ~5 handling events per conversation
    starts = [
        NOW - timedelta(days=30),  # mid-hour (12:30)
        NOW - timedelta(days=7, minutes=30),  # on a whole hour
        (NOW - timedelta(days=2)).replace(hour=0, minute=0),  # at midnight
        NOW - timedelta(hours=5, minutes=17),  # within today
        NOW - timedelta(days=200, hours=23, minutes=50),  # in the last hour of a day
    ]
    with db.engine.connect() as conn:
        for since in starts:
            fast = metrics.compute(conn, since, fast=True)
            exact = metrics.compute_raw(conn, since)
            assert exact.cycles > 0
            _check(fast, exact)
    db.dispose()
