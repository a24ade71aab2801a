"""Several replicas on one database: each alert is posted once, a dead replica's work is
taken over, the post budget holds across replicas, one replica leads, reloads reach all."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.app import CrmBot
from bot.chat.base import ChatAdapter, PostedRef
from bot.chat.registry import Platform
from bot.leader import Leadership
from bot.reload import ConfigReloader
from handlers.cards import AlertCard, Card, StatusCard
from handlers.clock import FakeClock
from storage import leases
from storage.db import Database
from storage.models import Outbox
from storage.outbox_types import OutboxKind
from tests.conftest import TEST_CONFIG, make_config, mention

CHANNELS = 4
REPLICA_CONFIG = (
    '[alerts]\ndefault_channel = "c0"\n'
    + "".join(f"[channels.c{i}]\nmax_posts_per_minute = 5\n" for i in range(CHANNELS))
    + "".join(
        f'[[rules]]\nname = "r{i}"\nkeywords = ["lane{i}"]\nlabels = {{ lane = "{i}" }}\n'
        for i in range(CHANNELS)
    )
    + "".join(
        f'[[routes]]\nmatch = {{ lane = "{i}" }}\nchannel = "c{i}"\n' for i in range(CHANNELS)
    )
)


@dataclass
class SharedChat(ChatAdapter):
    """One fake chat seen by several replicas' adapters: every post, in order, with
    message refs unique across them; each post takes a little while."""

    platform: str = "console"
    posts: list[tuple[str, str, Card]] = field(default_factory=list)
    delay: float = 0.002

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        await asyncio.sleep(self.delay)
        self.posts.append((self.platform, destination, card))
        ref = f"m{len(self.posts)}"
        return PostedRef(ref, thread.thread_ref if thread is not None else ref)

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        return None


class Replica:
    """One bot process's worth of parts, on a shared database and a shared fake chat."""

    def __init__(self, url: str, clock: FakeClock, posts: list[tuple[str, str, Card]]) -> None:
        self.chat = SharedChat(posts=posts)
        self.bot = CrmBot(url, make_config(REPLICA_CONFIG), [self.chat], clock=clock)

    def close(self) -> None:
        self.bot.ingestor.close()
        self.bot.db.dispose()


@pytest.fixture
def replicas(database_url: str, clock: FakeClock) -> Iterator[tuple[Replica, Replica]]:
    posts: list[tuple[str, str, Card]] = []
    a = Replica(database_url, clock, posts)
    b = Replica(database_url, clock, posts)
    yield a, b
    a.close()
    b.close()


def _alerts(posts: list[tuple[str, str, Card]]) -> list[int | None]:
    return [c.conversation_id for _, _, c in posts if isinstance(c, AlertCard)]


def _pending(db: Database) -> int:
    with Session(db.engine) as s:
        return len(s.exec(select(Outbox).where(Outbox.status == "pending")).all())


async def test_two_replicas_post_every_alert_once(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    half = [mention(f"lane{n % CHANNELS} is down") for n in range(16)]
    a.bot.ingest(half[:8])
    b.bot.ingest(half[8:])
    for _ in range(20):
        await asyncio.gather(a.bot.dispatcher.drain(), b.bot.dispatcher.drain())
        if _pending(a.bot.db) == 0:
            break
    alerts = _alerts(a.chat.posts)
    assert len(alerts) == 16
    assert len(set(alerts)) == 16  # none twice
    assert len(a.chat.posts) == 16


async def test_a_dead_replicas_destination_is_taken_over_after_its_lease(
    replicas: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, b = replicas
    a.bot.ingest([mention("lane1 is down")])
    with a.bot.db.transaction() as conn:  # replica A took the lease, then died mid-post
        assert leases.claim(
            conn, "console", "c1", "dead-replica", clock.now(), timedelta(seconds=30)
        )
    assert await b.bot.dispatcher.drain() == 0
    assert b.chat.posts == []
    clock.advance(seconds=31)
    assert await b.bot.dispatcher.drain() == 1
    assert [d for _, d, _ in b.chat.posts] == ["c1"]


async def test_the_post_budget_holds_across_replicas(replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    a.bot.ingest([mention("lane2 is down") for _ in range(5)])
    await a.bot.dispatcher.drain()
    assert len(a.chat.posts) == 5  # the channel's whole budget for this minute
    b.bot.ingest([mention("lane2 is down") for _ in range(3)])
    await b.bot.dispatcher.drain()
    assert len(b.chat.posts) == 5  # replica B knows the minute is used up: nothing more yet
    assert _pending(b.bot.db) == 3


async def test_a_replica_without_a_platform_leaves_its_rows_to_one_that_runs_it(
    replicas: tuple[Replica, Replica], clock: FakeClock
) -> None:
    a, _ = replicas
    now = clock.now()
    with a.bot.db.session() as session:
        session.add(
            Outbox(
                kind=OutboxKind.NOTICE,
                channel="c0",
                platform="discord",
                destination="D1",
                created_at=now,
                next_attempt_at=now,
            )
        )
    assert await a.bot.dispatcher.drain() == 0
    with Session(a.bot.db.engine) as s:
        row = s.exec(select(Outbox)).one()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)


async def test_one_replica_leads_and_another_takes_over_when_it_dies(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    one, two = Leadership(first, interval=0.05), Leadership(second, interval=0.05)
    if first.is_sqlite:
        assert one.is_leader()  # one process on SQLite: it leads
        return
    stop_one, stop_two = asyncio.Event(), asyncio.Event()
    led = asyncio.Event()
    one.on_change.append(lambda leader: led.set() if leader else None)
    task_one = asyncio.create_task(one.run(stop_one))
    await asyncio.wait_for(led.wait(), timeout=10)
    took_over = asyncio.Event()
    two.on_change.append(lambda leader: took_over.set() if leader else None)
    task_two = asyncio.create_task(two.run(stop_two))
    for _ in range(5):  # several checks go by; the second stays a follower
        await asyncio.sleep(0.05)
    assert one.is_leader() and not two.is_leader()
    stop_one.set()  # the leader goes away: its connection, and the lock, are gone
    await task_one
    await asyncio.wait_for(took_over.wait(), timeout=10)
    assert two.is_leader() and not one.is_leader()
    stop_two.set()
    await task_two
    first.dispose()
    second.dispose()


def test_a_reload_on_one_replica_reaches_the_others(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    files = []
    bots = []
    reloaders = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(TEST_CONFIG)
        files.append(path)
        bot = CrmBot(database_url, make_config(TEST_CONFIG), [SharedChat()], clock=clock)
        reloader = ConfigReloader(bot, path)
        reloader.share_at_start()
        bots.append(bot)
        reloaders.append(reloader)
    assert not reloaders[1].follow_once()  # same file: nothing to apply
    files[0].write_text(TEST_CONFIG + "\n[channels.vip]\n")
    applied, _ = reloaders[0].reload("SIGHUP")
    assert applied
    assert "vip" not in bots[1].config.channels
    assert reloaders[1].follow_once()
    assert "vip" in bots[1].config.channels
    assert not reloaders[0].follow_once()  # its own reload is not applied twice
    for bot in bots:
        bot.ingestor.close()
        bot.db.dispose()


async def test_a_slow_database_does_not_hold_the_event_loop(
    replicas: tuple[Replica, Replica], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = replicas
    a.bot.ingest([mention("lane0 is down")])
    dispatcher = a.bot.dispatcher
    entered, gate = threading.Event(), threading.Event()
    stalled: list[bool] = []
    real_due = dispatcher._due_and_claim

    def slow_due(*args: Any) -> Any:
        entered.set()
        stalled.append(not gate.wait(timeout=10))  # the database "hangs" until released
        return real_due(*args)

    monkeypatch.setattr(dispatcher, "_due_and_claim", slow_due)
    drain = asyncio.create_task(dispatcher.drain())
    assert await asyncio.to_thread(entered.wait, 10)  # the loop keeps running meanwhile
    assert not drain.done()
    gate.set()
    assert await drain == 1
    assert stalled and not any(stalled)  # never waited out its 10 s on a held loop


async def test_which_platforms_get_an_alert_comes_from_the_config(
    database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "bot.app.PLATFORMS",
        [Platform("slack", lambda _s: None), Platform("discord", lambda _s: None)],
    )
    config = make_config(
        '[alerts]\ndefault_channel = "social"\n[channels.social]\nslack = "C1"\ndiscord = "D1"\n'
    )
    posts: list[tuple[str, str, Card]] = []
    slack_replica = CrmBot(database_url, config, [SharedChat("slack", posts)], clock=clock)
    discord_replica = CrmBot(database_url, config, [SharedChat("discord", posts)], clock=clock)
    slack_replica.ingest([mention("hello @acme")])  # only the Slack replica got the mention
    assert await slack_replica.dispatcher.drain() == 1
    assert await discord_replica.dispatcher.drain() == 1
    assert sorted((p, d) for p, d, _ in posts) == [("discord", "D1"), ("slack", "C1")]
    for bot in (slack_replica, discord_replica):
        bot.ingestor.close()
        bot.db.dispose()
