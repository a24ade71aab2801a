"""`/crm metrics`: exact counts, medians and p90 as the README defines them, per staff, by role."""

from __future__ import annotations

from datetime import timedelta

from handlers.replies import Reply, Table
from tests.conftest import BotHarness, mention


def _work(
    h: BotHarness, conv: int, who: str, claim_min: int, reply_min: int, resolve_min: int
) -> None:
    """Claim, reply and resolve ``conv``; minutes counted from now (the receive time)."""
    start = h.clock.now()
    h.clock.set(start + _m(claim_min))
    h.say(f"claim {conv}", who)
    h.clock.set(start + _m(reply_min))
    h.say(f"reply {conv}", who)
    h.clock.set(start + _m(resolve_min))
    h.say(f"resolve {conv}", who)
    h.clock.set(start)


def _m(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


def _table(reply: Reply, title: str) -> Table:
    return next(t for t in reply.tables if t.title == title)


def test_metrics_for_a_manager(harness: BotHarness) -> None:
    # Ten conversations received now; ana handles 1-6, ben 7-10 with growing times.
    for i in range(10):
        harness.bot.ingest([mention(f"problem {i}", author_handle=f"a{i}")])
    for conv in range(1, 11):
        who = "ana" if conv <= 6 else "ben"
        _work(harness, conv, who, claim_min=conv, reply_min=2 * conv, resolve_min=10 * conv)
    harness.bot.ingest([mention("still waiting", author_handle="z")])  # open, unhandled
    harness.clock.advance(hours=12)

    reply = harness.exec("metrics 7d", "lead")
    assert (
        reply.text
        == "Metrics for the last 7d: 11 conversations (11 cycles), 10 resolved, 1 still open."
    )
    times = {row[0]: row[1:] for row in _table(reply, "Times").rows}
    # claim times 1..10 min: nearest-rank median = 5m, p90 = 9m, mean 5.5m
    assert times["time to claim"] == ("10", "5m", "9m", "5m")
    assert times["first response"] == ("10", "10m", "18m", "11m")
    assert times["resolution"] == ("10", "50m", "1h 30m", "55m")
    staff = {row[0]: row for row in _table(reply, "By staff").rows}
    assert staff["@ana"][1:] == ("6", "6", "3m", "6", "6m", "6", "30m")
    assert staff["@ben"][1:] == ("4", "4", "8m", "4", "16m", "4", "1h 20m")


def test_staff_see_only_their_own_row(harness: BotHarness) -> None:
    harness.bot.ingest([mention("one", author_handle="a"), mention("two", author_handle="b")])
    _work(harness, 1, "ana", 1, 2, 3)
    _work(harness, 2, "ben", 1, 2, 3)
    reply = harness.exec("metrics 30d", "ana")
    rows = _table(reply, "Your numbers").rows
    assert [r[0] for r in rows] == ["@ana"]


def test_period_excludes_older_conversations(harness: BotHarness) -> None:
    harness.bot.ingest([mention("old", author_handle="a")])
    harness.clock.advance(days=10)
    harness.bot.ingest([mention("new", author_handle="b")])
    assert harness.say("metrics 7d").startswith("Metrics for the last 7d: 1 conversations")
    assert harness.say("metrics 30d").startswith("Metrics for the last 30d: 2 conversations")


def test_reopened_conversation_counts_one_conversation_two_cycles(harness: BotHarness) -> None:
    harness.bot.ingest([mention("x", author_handle="a")])
    _work(harness, 1, "ana", 1, 2, 3)
    harness.clock.advance(hours=1)
    harness.say("reopen 1", "ben")
    harness.clock.advance(minutes=30)
    harness.say("resolve 1", "ben")
    reply = harness.exec("metrics 7d")
    assert reply.text.startswith("Metrics for the last 7d: 1 conversations (2 cycles), 2 resolved")
    times = {row[0]: row[1:] for row in _table(reply, "Times").rows}
    assert times["resolution"][0] == "2"


def test_team_filter(harness: BotHarness) -> None:
    harness.bot.ingest(
        [mention("site is down", author_handle="a"), mention("pricing?", author_handle="b")]
    )
    assert harness.say("metrics 7d team:sales").startswith(
        "Metrics for the last 7d for team sales: 1 conversations"
    )


def test_bot_actions_are_not_staff_responses(harness: BotHarness) -> None:
    harness.bot.ingest([mention("x", author_handle="a")])
    harness.clock.advance(hours=30)
    reply = harness.exec("metrics 7d")
    times = {row[0]: row[1:] for row in _table(reply, "Times").rows}
    assert times["first response"][0] == "0"
