"""Alert latency (issue 13): a destination is drained as soon as its alert is queued, not
after the previous pass finished everywhere; one alert costs two transactions; the
start-up warm-up keeps nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.engine.default import CACHE_MISS
from sqlmodel import Session, SQLModel, col, select

from bot.chat.base import PostedRef
from bot.dispatch_warmup import warm_up, warm_up_ingest
from bot.dispatcher import record_sent
from handlers.cards import Card
from storage import handling
from storage import outbox as outbox_store
from storage.leases import DispatchLease
from storage.models import Conversation, Cycle, HandlingEvent, Outbox, PostedAlert
from tests.conftest import BotHarness, RecordingAdapter, mention

TABLES = ("conversation", "cycle", "outbox", "posted_alert", "handling_event", "dispatch_lease")


@dataclass
class HeldChat(RecordingAdapter):
    """Posts to ``held`` destinations wait until ``release`` is set."""

    held: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        if destination in self.held:
            await self.release.wait()
        return await super().post(destination, card, thread)


async def _until(predicate: Callable[[], bool], tries: int = 1000) -> None:
    """Let the loop run until ``predicate`` holds (a bounded number of short turns)."""
    for _ in range(tries):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("it never happened")


async def test_an_alert_goes_out_while_another_channel_is_still_posting(
    harness: BotHarness,
) -> None:
    chat = HeldChat(held={"support"})
    harness.bot.adapters["console"] = chat
    harness.bot.dispatcher.adapters = harness.bot.adapters
    stop = asyncio.Event()
    running = asyncio.create_task(harness.bot.dispatcher.run(stop))
    harness.bot.ingest([mention("app is down")])  # support: its post hangs
    await asyncio.sleep(0.05)
    harness.bot.ingest([mention("what is the enterprise plan pricing")])  # sales
    await _until(lambda: [p.destination for p in chat.posts] == ["sales"])
    chat.release.set()
    await _until(lambda: len(chat.posts) == 2)
    stop.set()
    harness.bot.dispatcher.wake()
    await running
    assert sorted(p.destination for p in chat.posts) == ["sales", "support"]


async def test_alerts_queued_while_their_channel_drains_go_out_once_and_the_lease_is_freed(
    harness: BotHarness,
) -> None:
    chat = HeldChat(held={"support"})
    harness.bot.adapters["console"] = chat
    harness.bot.dispatcher.adapters = harness.bot.adapters
    stop = asyncio.Event()
    running = asyncio.create_task(harness.bot.dispatcher.run(stop))
    harness.bot.ingest([mention("app is down")])
    await asyncio.sleep(0.05)  # the first alert is being posted
    harness.bot.ingest([mention("login not working"), mention("outage again")])
    await asyncio.sleep(0.05)
    chat.release.set()
    await _until(lambda: len(chat.posts) == 3)
    await asyncio.sleep(0.05)
    stop.set()
    harness.bot.dispatcher.wake()
    await running
    assert len({p.card.conversation_id for p in chat.posts}) == 3  # each once
    with Session(harness.bot.db.engine) as s:
        assert [r.status for r in s.exec(select(Outbox)).all()] == ["sent"] * 3
        assert [lease.holder for lease in s.exec(select(DispatchLease)).all()] == [None]


@contextmanager
def counted_transactions(harness: BotHarness) -> Iterator[list[str]]:
    db = harness.bot.db
    real, real_core = db.session, db.transaction
    seen: list[str] = []

    @contextmanager
    def session() -> Iterator[Session]:
        seen.append("session")
        with real() as s:
            yield s

    @contextmanager
    def transaction() -> Iterator[Connection]:
        seen.append("transaction")
        with real_core() as conn:
            yield conn

    db.session = session  # type: ignore[method-assign]
    db.transaction = transaction  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        db.session = real  # type: ignore[method-assign]
        db.transaction = real_core  # type: ignore[method-assign]


async def test_one_alert_costs_two_transactions(harness: BotHarness) -> None:
    harness.bot.ingest([mention("app is down")])
    with counted_transactions(harness) as seen:
        assert await harness.bot.dispatcher.drain() == 1
    # what is due + its lease + its rows + its budget; marked sent + lease let go; then
    # drain() looks once more and finds nothing
    assert len(seen) == 3


def _counts(harness: BotHarness) -> dict[str, int]:
    with Session(harness.bot.db.engine) as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


async def test_the_warm_up_keeps_nothing_and_alerts_still_go_out_once(
    harness: BotHarness,
) -> None:
    harness.bot.ingest([mention("app is down")])
    before = _counts(harness)
    warm_up(harness.bot.dispatcher)
    assert _counts(harness) == before
    assert await harness.deliver() == 1
    assert await harness.deliver() == 0


async def test_a_failing_warm_up_is_logged_and_the_bot_goes_on(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("no such table")

    monkeypatch.setattr("storage.outbox.due_alert_batches", broken)
    warm_up(harness.bot.dispatcher)
    assert "warming the dispatcher up failed" in caplog.text
    monkeypatch.undo()
    harness.bot.ingest([mention("app is down")])
    assert await harness.deliver() == 1


async def test_a_row_posted_again_by_another_replica_keeps_its_first_alert(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.bot.ingest([mention("app is down")])
    assert await harness.deliver() == 1
    with Session(harness.bot.db.engine) as s:
        row = s.exec(select(Outbox)).one()
    # a replica whose lease ran out mid-post marks it sent once more
    again = PostedRef("msg-again", "msg-again")
    with harness.bot.db.transaction() as conn:
        assert record_sent(conn, row, True, again, False, harness.clock.now()) is None
    assert "posted by two replicas" in caplog.text
    with Session(harness.bot.db.engine) as s:
        stored = s.exec(select(Outbox)).one()
        assert (stored.status, stored.message_ref, stored.attempts) == ("sent", "msg-again", 2)
        assert [p.message_ref for p in s.exec(select(PostedAlert)).all()] == ["msg-1"]
        assert [e.kind for e in s.exec(select(HandlingEvent)).all()] == ["alerted"]


def test_record_alerted_does_what_recording_an_alerted_event_does(harness: BotHarness) -> None:
    harness.bot.ingest([mention("app is down", author_handle="a")])
    harness.bot.ingest([mention("login broken", author_handle="b")])
    at = harness.clock.now() + timedelta(seconds=5)
    detail = {"channel": "support", "platform": "console"}
    with harness.bot.db.session() as session:
        first, second = session.exec(select(Conversation).order_by(col(Conversation.id))).all()
        handling.record(session, first, "alerted", None, at, detail)
    assert first.id is not None and second.id is not None
    with harness.bot.db.transaction() as conn:
        assert handling.record_alerted(conn, second.id, at, detail) == 1
        # once per cycle: a second alert of the same cycle records nothing
        assert handling.record_alerted(conn, second.id, at + timedelta(seconds=1), detail) is None

    def seen(conversation_id: int) -> tuple[object, ...]:
        with Session(harness.bot.db.engine) as s:
            events = s.exec(
                select(HandlingEvent).where(HandlingEvent.conversation_id == conversation_id)
            ).all()
            cycle = s.exec(select(Cycle).where(Cycle.conversation_id == conversation_id)).one()
            conversation = s.get(Conversation, conversation_id)
            assert conversation is not None
            return (
                [(e.kind, e.cycle, e.actor_id, e.at, e.detail) for e in events],
                cycle.alerted_at,
                conversation.last_activity_at,
            )

    assert seen(second.id) == seen(first.id)
    assert seen(second.id)[1] == at


async def test_after_the_warm_ups_an_alert_compiles_no_statement(harness: BotHarness) -> None:
    compiled: list[str] = []

    def note(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        context = _args[-2]
        if getattr(context, "cache_hit", None) is CACHE_MISS:
            compiled.append(sql)

    warm_up(harness.bot.dispatcher)
    warm_up_ingest(harness.bot.ingestor, harness.clock)
    event.listen(harness.bot.db.engine, "after_cursor_execute", note)
    try:
        harness.bot.ingest([mention("app is down")])
        assert await harness.deliver() == 1
    finally:
        event.remove(harness.bot.db.engine, "after_cursor_execute", note)
    assert compiled == []


def test_the_ingest_warm_up_keeps_nothing(harness: BotHarness) -> None:
    every = sorted(SQLModel.metadata.tables)

    def counts() -> list[int]:
        with Session(harness.bot.db.engine) as s:
            return [s.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in every]

    before = counts()
    warm_up_ingest(harness.bot.ingestor, harness.clock)
    assert counts() == before
    harness.bot.ingest([mention("app is down")])  # what it would have kept
    assert counts() != before


def test_due_rows_read_through_core_are_the_rows_the_orm_loads(harness: BotHarness) -> None:
    harness.bot.ingest([mention("app is down"), mention("enterprise plan pricing")])
    now = harness.clock.now()
    with harness.bot.db.transaction() as conn:
        batches = outbox_store.due_alert_batches(conn, now)
        fast = [
            row
            for platform, destination, key, _ in batches
            for row in outbox_store.due_alerts(conn, now, platform, destination, key)
        ]
    with Session(harness.bot.db.engine) as s:
        loaded = s.exec(select(Outbox).order_by(col(Outbox.id))).all()
        assert len(loaded) == 2
        assert sorted((r.model_dump() for r in fast), key=lambda r: r["id"]) == [
            r.model_dump() for r in loaded
        ]
