"""Rollups, filters, SLA, business hours, leaderboard, export, charts and the weekly digest."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from bot.reports import post_weekly_report
from handlers.cards import NoticeCard
from handlers.clock import FakeClock
from handlers.config_metrics import BusinessHoursConfig
from handlers.metrics_hours import business_seconds
from storage import metrics, rollups
from tests.conftest import TEST_CONFIG, BotHarness, make_config, mention
from tests.test_metrics import _table, _work

PNG = b"\x89PNG\r\n\x1a\n"


def _spread(h: BotHarness, days: int = 4) -> None:
    """Conversations over several days; ana and ben work them, one reopened."""
    for d in range(days):
        for i in range(3):
            h.bot.ingest([mention(f"site down {d}-{i}", author_handle=f"d{d}i{i}")])
        h.clock.advance(hours=24)
    for conv in range(1, 3 * days + 1):
        _work(h, conv, "ana" if conv % 2 else "ben", conv, 2 * conv + 1, 10 * conv)
    h.clock.advance(hours=1)
    h.say("reopen 2", "ben")
    h.clock.advance(minutes=20)
    h.say("resolve 2", "ben")


def test_rollups_equal_the_raw_computation(harness: BotHarness) -> None:
    _spread(harness)
    since = harness.clock.now() - timedelta(days=30)
    with harness.bot.db.engine.connect() as conn:
        raw = metrics.compute_raw(conn, since)
        fast = metrics.compute(conn, since, fast=True)
    with harness.bot.db.engine.begin() as conn:
        rollups.rebuild(conn)
    with harness.bot.db.engine.connect() as conn:
        rebuilt = metrics.compute(conn, since, fast=True)
    for got in (fast, rebuilt):
        assert (got.conversations, got.cycles, got.resolved) == (12, 13, 13)
        assert (got.conversations, got.cycles, got.resolved) == (
            raw.conversations,
            raw.cycles,
            raw.resolved,
        )
        for attr in ("time_to_claim", "first_response", "resolution"):
            a, b = getattr(got, attr), getattr(raw, attr)
            assert a.count == b.count
            assert abs(a.average - b.average) < 1e-6
            assert abs(a.median - b.median) <= 0.01 * b.median
            assert abs(a.p90 - b.p90) <= 0.01 * b.p90
        assert {s: f.handled for s, f in got.staff.items()} == {
            s: f.handled for s, f in raw.staff.items()
        }
    # a period starting mid-day: the partial first day comes from the rows
    mid = harness.clock.now() - timedelta(days=2, hours=13)
    with harness.bot.db.engine.connect() as conn:
        a, b = metrics.compute(conn, mid, fast=True), metrics.compute_raw(conn, mid)
    assert (a.conversations, a.cycles, a.resolved) == (b.conversations, b.cycles, b.resolved)


def test_user_filter_and_staff_refused_for_others(harness: BotHarness) -> None:
    _spread(harness, days=1)
    reply = harness.exec("metrics 7d @ana")
    assert [r[0] for r in _table(reply, "@ana").rows] == ["@ana"]
    assert "only their own" in harness.say("metrics 7d @ben", "ana")
    assert [r[0] for r in _table(harness.exec("metrics 7d @ana", "ana"), "Your numbers").rows] == [
        "@ana"
    ]


def test_source_filter(harness: BotHarness) -> None:
    harness.bot.ingest(
        [
            mention("a", author_handle="x"),
            mention("b", source="reddit", author_handle="y", platform="reddit"),
        ]
    )
    assert harness.say("metrics 7d source:reddit").startswith(
        "Metrics for the last 7d from reddit: 1 conversations"
    )


def test_leaderboard_and_staff_refused(harness: BotHarness) -> None:
    _spread(harness, days=1)
    rows = _table(harness.exec("leaderboard 7d"), "Leaderboard").rows
    # ana resolved 1 and 3, ben resolved 2 twice (reopened) -> ben has 2 cycles resolved
    assert [(r[1], r[2]) for r in rows] == [("@ana", "2"), ("@ben", "2")]
    assert "Only managers" in harness.say("leaderboard", "ana")


def test_export_csv_has_every_cycle_and_business_hours(harness: BotHarness) -> None:
    harness.bot.ingest([mention("site down", author_handle="a")])  # Mon 2026-03-02 09:00 UTC
    _work(harness, 1, "ana", 5, 10, 60)
    reply = harness.exec("export 7d")
    (attachment,) = reply.attachments
    assert attachment.mime == "text/csv"
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode())))
    assert len(rows) == 1
    row = rows[0]
    assert (row["claimed_by"], row["first_response_by"], row["resolved_by"]) == ("ana",) * 3
    assert (row["claim_s"], row["first_response_s"], row["resolution_s"]) == ("300", "600", "3600")
    assert row["resolution_bh_s"] == "3600"
    assert row["handled_by"] == "ana"


def test_business_hours_skip_nights_and_weekends() -> None:
    hours = BusinessHoursConfig(timezone="UTC", start="09:00", end="17:00")
    fri = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    mon = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert business_seconds(fri, mon, hours) == 2 * 3600


def test_sla_met_and_breached(database_url: str, clock: FakeClock) -> None:
    from bot.app import CrmBot
    from tests.conftest import RecordingAdapter

    config = make_config(TEST_CONFIG + '\n[sla.high]\nfirst_response = "15m"\n')
    bot = CrmBot(database_url, config, [RecordingAdapter()], clock=clock)
    h = BotHarness(bot, RecordingAdapter(), clock)
    try:
        bot.ingest([mention("site down", author_handle="a"), mention("outage", author_handle="b")])
        _work(h, 1, "ana", 1, 10, 20)
        _work(h, 2, "ana", 1, 30, 40)
        sla = _table(h.exec("metrics 7d"), "SLA").rows
        assert sla == (("high", "first response", "15m", "2", "50%", "1"),)
    finally:
        bot.ingestor.close()
        bot.db.dispose()


def test_chart_is_a_png(harness: BotHarness) -> None:
    _spread(harness, days=2)
    (png,) = harness.exec("metrics 7d chart").attachments
    assert png.data.startswith(PNG) and len(png.data) > 1000
    (png2,) = harness.exec("chart 7d").attachments
    assert png2.mime == "image/png" and png2.data.startswith(PNG)


def test_weekly_digest_posts_to_the_managers_channel(database_url: str, clock: FakeClock) -> None:
    from bot.app import CrmBot
    from tests.conftest import RecordingAdapter

    adapter = RecordingAdapter()
    config = make_config(TEST_CONFIG + '\n[channels.managers]\n[reports]\nchannel = "managers"\n')
    bot = CrmBot(database_url, config, [adapter], clock=clock)
    try:
        bot.ingest([mention("site down", author_handle="a")])
        assert post_weekly_report(bot) == 1
        import asyncio

        asyncio.run(bot.dispatcher.drain())
        notices = [p.card for p in adapter.posts if p.destination == "managers"]
        assert len(notices) == 1
        assert isinstance(notices[0], NoticeCard)
        assert notices[0].text.startswith("Weekly digest. Metrics for the last 7d: 1 conversations")
        assert "Outcomes" in notices[0].text
    finally:
        bot.ingestor.close()
        bot.db.dispose()


def test_conversation_reopened_inside_the_period_counts_once(harness: BotHarness) -> None:
    harness.bot.ingest([mention("old problem", author_handle="a")])
    _work(harness, 1, "ana", 1, 2, 3)
    harness.clock.advance(days=20)
    harness.say("reopen 1", "ben")  # its first cycle is before the period, this one inside
    harness.clock.advance(minutes=5)
    harness.say("reopen 1", "ben")  # no-op: still open
    harness.say("resolve 1", "ben")
    harness.say("reopen 1", "ben")  # a second cycle inside the period
    harness.bot.ingest([mention("new problem", author_handle="b")])
    harness.clock.advance(days=15)
    since = harness.clock.now() - timedelta(days=30)
    with harness.bot.db.engine.connect() as conn:
        fast = metrics.compute(conn, since, fast=True)
        raw = metrics.compute_raw(conn, since)
    assert (fast.conversations, fast.cycles) == (raw.conversations, raw.cycles) == (2, 3)
