"""`/crm metrics` filters with known numbers: one person's own figures (`@ana`), business
hours (`bh`) and SLA per person, on the injected clock, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.app import CrmBot
from handlers.clock import FakeClock
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention
from tests.test_metrics import _table, _work

CONFIG = (
    TEST_CONFIG
    + """
[sla.high]
first_response = "15m"
resolution = "2h"

[business_hours]
timezone = "UTC"
start = "09:00"
end = "17:00"
"""
)


@pytest.fixture
def h(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(CONFIG), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


def _ana_and_ben(h: BotHarness) -> None:
    """Mon 09:00: four outages. ana: 1 (claim 2m, reply 10m, resolve 1h) and
    2 (4m, 12m, 3h); ben: 3 (20m, 40m, 5h) and 4 (30m, 50m, 6h)."""
    for i in range(4):
        h.bot.ingest([mention(f"site down {i}", author_handle=f"u{i}")])
    _work(h, 1, "ana", 2, 10, 60)
    _work(h, 2, "ana", 4, 12, 180)
    _work(h, 3, "ben", 20, 40, 300)
    _work(h, 4, "ben", 30, 50, 360)
    h.clock.advance(days=1)


def test_a_persons_metrics_are_their_own_not_the_teams(h: BotHarness) -> None:
    _ana_and_ben(h)
    team = h.exec("metrics 7d")
    assert {r[0]: r[1:] for r in _table(team, "Times").rows}["first response"] == (
        "4",
        "12m",
        "50m",
        "28m",
    )
    ana = h.exec("metrics 7d @ana")
    assert ana.text.startswith(
        "Metrics for the last 7d for @ana: worked on 2 conversations (2 cycles), 2 resolved,"
        " 0 still open."
    )
    times = {r[0]: r[1:] for r in _table(ana, "Times (@ana)").rows}
    assert times == {
        "time to claim": ("2", "2m", "4m", "3m"),
        "first response": ("2", "10m", "12m", "11m"),
        "resolution": ("2", "1h 00m", "3h 00m", "2h 00m"),
    }
    assert not [t for t in ana.tables if t.title == "Times"]  # no team figures under her name
    sla = {(r[0], r[1]): r[2:] for r in _table(ana, "SLA").rows}
    # first responses 10m and 12m are within 15m; resolutions 1h met, 3h breached (2h)
    assert sla[("high", "first response")] == ("15m", "2", "100%", "0")
    assert sla[("high", "resolution")] == ("2h 00m", "2", "50%", "1")
    ben_sla = {(r[0], r[1]): r[2:] for r in _table(h.exec("metrics 7d @ben"), "SLA").rows}
    assert ben_sla[("high", "first response")] == ("15m", "2", "0%", "2")
    team_sla = {(r[0], r[1]): r[2:] for r in _table(team, "SLA").rows}
    assert team_sla[("high", "first response")] == ("15m", "4", "50%", "2")


def test_a_person_sees_a_breach_they_hold_before_anyone_replies(h: BotHarness) -> None:
    h.bot.ingest([mention("site down", author_handle="x")])
    h.clock.advance(minutes=5)
    h.say("claim 1", "ana")
    h.clock.advance(minutes=25)  # 30m without a first response: past the 15m target
    sla = {(r[0], r[1]): r[2:] for r in _table(h.exec("metrics 7d @ana"), "SLA").rows}
    assert sla[("high", "first response")] == ("15m", "1", "0%", "1")
    assert sla[("high", "resolution")] == ("2h 00m", "0", "-", "0")  # still inside 2h
    ben = {(r[0], r[1]): r[2:] for r in _table(h.exec("metrics 7d @ben"), "SLA").rows}
    assert ben[("high", "first response")] == ("15m", "0", "-", "0")


def test_business_hours_skip_the_night_and_the_weekend(h: BotHarness) -> None:
    # Fri 27 Feb 16:00: replied Mon 10:00 (calendar 2d 18h; business hours 1h + 1h = 2h).
    h.clock.set(datetime(2026, 2, 27, 16, 0, tzinfo=UTC))
    h.bot.ingest([mention("site down friday", author_handle="f")])
    h.clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    h.say("claim 1", "ana")
    h.say("reply 1", "ana")
    # Mon 10:00: ben replies after 30m and resolves after 1h, inside business hours.
    h.bot.ingest([mention("site down monday", author_handle="m")])
    _work(h, 2, "ben", 10, 30, 60)
    # Mon 20:00 (after hours): replied 22:00, resolved Tue 10:00 -> 0s and 1h of business time.
    h.clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    h.bot.ingest([mention("site down at night", author_handle="n")])
    _work(h, 3, "ben", 60, 120, 14 * 60)
    h.clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))

    reply = h.exec("metrics 30d bh")
    calendar = {r[0]: r[1:] for r in _table(reply, "Times").rows}
    assert calendar["first response"] == ("3", "2h 00m", "2d 18h", "22h 50m")
    bh = {r[0]: r[1:] for r in _table(reply, "Business hours (UTC, Mon-Fri 09:00-17:00)").rows}
    # first responses in business time: 2h, 30m, 0s -> median 30m, p90 2h, mean 50m
    assert bh["first response"] == ("3", "30m", "2h 00m", "50m")
    # resolutions: #2 1h (10:00-11:00), #3 Mon 20:00 -> Tue 10:00 = 1h
    assert bh["resolution"] == ("2", "1h 00m", "1h 00m", "1h 00m")
    ana_bh = {
        r[0]: r[1:]
        for r in _table(
            h.exec("metrics 30d bh @ana"), "Business hours (UTC, Mon-Fri 09:00-17:00)"
        ).rows
    }
    assert ana_bh["first response"] == ("1", "2h 00m", "2h 00m", "2h 00m")
    assert ana_bh["resolution"] == ("0", "-", "-", "-")
