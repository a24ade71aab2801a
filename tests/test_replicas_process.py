"""Two real `crmbot run` processes on one PostgreSQL: 1,000 mentions split across them
(signed webhooks) are each posted exactly once; when the leader is killed (kill -9), an
escalation due later still fires, exactly once, on the survivor, and so does one the
leader was in the middle of running when it died."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from benchmarks.common import private_pg_schema
from benchmarks.replicas import Cluster, SlowSlack, config_text, phase
from tests.fakes.slack_api import Message

PG_URL = os.environ.get("TEST_DATABASE_URL")
ESCALATION = """
[channels.vip]
slack = "C0VIP"
[channels.oncall]
slack = "C0ONCALL"

[[rules]]
name = "vip"
keywords = ["viplane"]
labels = { lane = "vip" }

[[routes]]
match = { lane = "vip" }
channel = "vip"
escalate = { after = "4s", to = "oncall" }
"""
LEADER = "is now the leader"


def _escalation_timers(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM apscheduler_jobs WHERE id LIKE 'escalate:%'"
            return int(conn.execute(text(query)).scalar() or 0)
    finally:
        engine.dispose()


async def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")
async def test_two_replicas_post_once_and_the_survivor_escalates(tmp_path: Path) -> None:
    assert PG_URL is not None
    slack = SlowSlack(bot_token="xoxb-test")
    await slack.start()
    config = tmp_path / "crmbot.toml"
    config.write_text(config_text(ESCALATION))
    with private_pg_schema(PG_URL, "rep") as url:
        cluster = Cluster(url, slack, config, tmp_path)
        try:
            leader = await cluster.start_replica()
            await leader.wait_logged(LEADER)
            follower = await cluster.start_replica()
            _, markers = await phase(cluster, [leader, follower], 1, 1000, range(50))
            assert [m for m in markers if slack.marks[m] != 1] == []
            assert not follower.logged(LEADER)

            await cluster.send([follower], ["REP-90000001"], range(1))  # a warm-up barrier
            await slack.wait_for(lambda: slack.marks["REP-90000001"] == 1, seconds=30)
            vip = [
                {
                    "type": "mention",
                    "source": "bench",
                    "id": "vip-1",
                    "platform": "twitter",
                    "author": {"handle": "bigcustomer", "followers": 10},
                    "text": "viplane REP-90000002 our whole team is locked out",
                    "posted_at": "2026-11-20T09:00:00Z",
                }
            ]
            await cluster.post_events(follower, vip)
            await slack.wait_for(lambda: slack.marks["REP-90000002"] == 1, seconds=30)
            # posted, marked sent and its escalation timer stored (whichever replica posted)
            await _wait(lambda: _escalation_timers(url) == 1)
            leader.proc.kill()  # kill -9, before the escalation is due
            await leader.proc.wait()
            await follower.wait_logged(LEADER, seconds=60)
            await slack.wait_for(lambda: len(slack.posts("C0ONCALL")) >= 1, seconds=60)
            # a barrier after the escalation: anything doubled would have arrived by now
            await cluster.send([follower], ["REP-90000003"], range(1))
            await slack.wait_for(lambda: slack.marks["REP-90000003"] == 1, seconds=30)
            await asyncio.sleep(0)
            oncall = slack.posts("C0ONCALL")
            assert len(oncall) == 1
            assert "REP-90000002" in oncall[0].text + str(oncall[0].blocks)
        finally:
            await cluster.stop()
            await slack.stop()


VIP_MENTION = {
    "type": "mention",
    "source": "bench",
    "id": "vip-2",
    "platform": "twitter",
    "author": {"handle": "bigcustomer", "followers": 10},
    "text": "viplane REP-90000005 nobody can log in",
    "posted_at": "2026-11-20T09:00:00Z",
}


def _escalation_run(url: str) -> tuple[str, bool] | None:
    """(holder, finished) of the escalation's claimed firing, if one was claimed."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT holder, finished_at FROM job_run WHERE job_id LIKE 'escalate:%'"
            row = conn.execute(text(query)).first()
            return None if row is None else (str(row[0]), row[1] is not None)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _conversations_locked(url: str) -> Iterator[Connection]:
    """Hold every conversation row locked (``FOR UPDATE``) until the block ends: an
    escalation run waits on it, so the test knows the leader is in the middle of one."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM conversation FOR UPDATE")).all()
            try:
                yield conn
            finally:
                conn.rollback()
    finally:
        engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")
async def test_the_leader_killed_while_escalating_fires_it_once_on_the_survivor(
    tmp_path: Path,
) -> None:
    assert PG_URL is not None
    slack = SlowSlack(bot_token="xoxb-test")
    await slack.start()
    config = tmp_path / "crmbot.toml"
    config.write_text(config_text(ESCALATION.replace('after = "4s"', 'after = "5s"')))
    with private_pg_schema(PG_URL, "repk") as url:
        cluster = Cluster(url, slack, config, tmp_path)
        try:
            leader = await cluster.start_replica()
            await leader.wait_logged(LEADER)
            follower = await cluster.start_replica()
            await cluster.post_events(follower, [VIP_MENTION])
            await slack.wait_for(lambda: slack.marks["REP-90000005"] == 1, seconds=30)
            await _wait(lambda: _escalation_timers(url) == 1)
            with _conversations_locked(url):
                # the timer comes due: the leader claims the firing (APScheduler drops the
                # one-off job from its store) and its escalation waits on the lock
                await _wait(lambda: _escalation_run(url) is not None)
                holder, finished = _escalation_run(url) or ("", True)
                assert holder.split(":")[1] == str(leader.proc.pid) and not finished
                assert _escalation_timers(url) == 0
                leader.proc.kill()  # kill -9 in the middle of the escalation
                await leader.proc.wait()
            await follower.wait_logged(LEADER, seconds=60)
            await slack.wait_for(lambda: len(slack.posts("C0ONCALL")) >= 1, seconds=90)

            def notices() -> list[Message]:
                return [m for m in slack.posts("C0VIP") if "escalated to" in m.text]

            await slack.wait_for(lambda: len(notices()) >= 1, seconds=60)
            # a barrier after the escalation: anything doubled would have arrived by now
            await cluster.send([follower], ["REP-90000006"], range(1))
            await slack.wait_for(lambda: slack.marks["REP-90000006"] == 1, seconds=60)
            oncall = slack.posts("C0ONCALL")
            assert len(oncall) == 1 and len(notices()) == 1
            assert "REP-90000005" in oncall[0].text + str(oncall[0].blocks)
            assert follower.logged("running it again here")
            holder, finished = _escalation_run(url) or ("", False)
            assert holder.split(":")[1] == str(follower.proc.pid) and finished
        finally:
            await cluster.stop()
            await slack.stop()
