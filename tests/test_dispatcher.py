"""The outbox dispatcher: nothing is dropped, failures retry with backoff, threads stay threads."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.backoff import Backoff
from bot.chat.base import DeliveryError
from handlers.cards import AlertCard, FollowUpCard, StatusCard
from storage.models import Cycle, HandlingEvent, Outbox, PostedAlert
from tests.conftest import BotHarness, mention


async def test_alert_posts_once_and_records_alerted(harness: BotHarness) -> None:
    harness.bot.ingest([mention("app is down", author_handle="jroe", url="https://x.test/1")])
    assert await harness.deliver() == 1
    assert await harness.deliver() == 0
    (post,) = harness.adapter.posts
    assert post.destination == "support"
    assert isinstance(post.card, AlertCard)
    assert (post.card.author_handle, post.card.url, post.card.rule) == (
        "jroe",
        "https://x.test/1",
        "outage",
    )
    with Session(harness.bot.db.engine) as s:
        (posted,) = s.exec(select(PostedAlert)).all()
        assert posted.message_ref == "msg-1"
        assert s.exec(select(Cycle)).one().alerted_at == harness.clock.now()
        assert [e.kind for e in s.exec(select(HandlingEvent)).all()] == ["alerted"]


async def test_followups_go_into_the_alert_thread(harness: BotHarness) -> None:
    harness.bot.ingest([mention("down", author_handle="jroe")])
    harness.bot.ingest([mention("still down", author_handle="jroe")])
    await harness.deliver()
    alert, follow = harness.adapter.posts
    assert isinstance(follow.card, FollowUpCard) and follow.thread_ref == alert.ref


async def test_failed_post_is_retried_with_backoff_and_never_dropped(harness: BotHarness) -> None:
    harness.bot.dispatcher.backoff = Backoff(base=10, cap=300, jitter=0)
    harness.adapter.failures = [DeliveryError("HTTP 503 from chat API")] * 3
    harness.bot.ingest([mention("down")])
    harness.bot.ingest([mention("still down", author_handle="user-other")])
    assert await harness.deliver() == 0  # both alerts failed (first two failures)
    with Session(harness.bot.db.engine) as s:
        rows = s.exec(select(Outbox)).all()
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [
            ("pending", 1, "HTTP 503 from chat API"),
            ("pending", 1, "HTTP 503 from chat API"),
        ]
        assert all((r.next_attempt_at - harness.clock.now()).total_seconds() == 10 for r in rows)
    assert await harness.deliver() == 0  # not due yet
    harness.clock.advance(seconds=10)
    assert await harness.deliver() == 1  # one more failure, then success
    harness.clock.advance(seconds=20)
    assert await harness.deliver() == 1
    with Session(harness.bot.db.engine) as s:
        assert {r.status for r in s.exec(select(Outbox)).all()} == {"sent"}
    assert len(harness.adapter.posts) == 2


async def test_rate_limit_retry_after_is_honoured(harness: BotHarness) -> None:
    harness.bot.dispatcher.backoff = Backoff(base=1, cap=300, jitter=0)
    harness.adapter.failures = [DeliveryError("rate limited", retry_after=42)]
    harness.bot.ingest([mention("down")])
    await harness.deliver()
    with Session(harness.bot.db.engine) as s:
        row = s.exec(select(Outbox)).one()
    assert (row.next_attempt_at - harness.clock.now()).total_seconds() == 42


async def test_followup_waits_for_its_alert(harness: BotHarness) -> None:
    harness.adapter.failures = [DeliveryError("timeout")]
    harness.bot.ingest(
        [mention("down", author_handle="jroe"), mention("hello?", author_handle="jroe")]
    )
    assert await harness.deliver() == 0  # alert failed, follow-up waits rather than orphaning
    assert harness.adapter.posts == []
    harness.clock.advance(minutes=10)
    assert await harness.deliver() == 2
    alert, follow = harness.adapter.posts
    assert follow.thread_ref == alert.ref


async def test_status_update_edits_the_posted_alert(harness: BotHarness) -> None:
    harness.bot.ingest([mention("down")])
    await harness.deliver()
    harness.say("claim 1", "ana")
    await harness.deliver()
    update = harness.adapter.posts[-1]
    assert update.edit and update.ref == "msg-1"
    assert isinstance(update.card, StatusCard) and update.card.assignee == "ana"


async def test_unexpected_adapter_exception_keeps_the_row(harness: BotHarness) -> None:
    class Broken(Exception):
        pass

    async def explode(*args, **kwargs):
        raise Broken("token xoxb-secret leaked?")

    harness.adapter.post = explode  # type: ignore[method-assign]
    harness.bot.ingest([mention("down")])
    await harness.deliver()
    with Session(harness.bot.db.engine) as s:
        row = s.exec(select(Outbox)).one()
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error == "Broken"  # the exception text (which might hold secrets) is not stored


def test_backoff_grows_and_caps() -> None:
    backoff = Backoff(base=2, cap=60, jitter=0)
    assert [backoff.delay(n) for n in (1, 2, 3, 6, 10)] == [2, 4, 8, 60, 60]


async def test_repeated_failure_sends_to_fallback_and_tells_admins(
    database_url: str, clock
) -> None:
    from bot.app import CrmBot
    from handlers.cards import NoticeCard
    from tests.conftest import TEST_CONFIG, RecordingAdapter, make_config

    text = TEST_CONFIG.replace(
        "[alerts]\n", '[alerts]\nfallback_channel = "social"\nadmin_channel = "admins"\n'
    ).replace("[channels.social]", "[channels.admins]\n[channels.social]")

    class FlakySupport(RecordingAdapter):
        async def post(self, destination, card, thread):
            if destination == "support":
                raise DeliveryError("HTTP 503 from chat API")
            return await super().post(destination, card, thread)

    adapter = FlakySupport()
    bot = CrmBot(database_url, make_config(text), [adapter], clock=clock)
    bot.dispatcher.backoff = Backoff(base=1, cap=1, jitter=0)
    bot.ingest([mention("site down")])
    for _ in range(5):
        await bot.dispatcher.drain()
        clock.advance(seconds=2)
    await bot.dispatcher.drain()
    by_destination = {p.destination: p.card for p in adapter.posts}
    assert isinstance(by_destination["social"], AlertCard)
    notice = by_destination["admins"]
    assert isinstance(notice, NoticeCard)
    assert notice.text == (
        "Posting alert #1 to #support (console) keeps failing: HTTP 503 from chat API. "
        "It was sent to #social instead."
    )
    with Session(bot.db.engine) as s:
        original = s.exec(select(Outbox).where(Outbox.destination == "support")).one()
    assert original.status == "pending"  # still retried, never dropped
    bot.db.dispose()


async def test_a_permanent_failure_is_dead_lettered_at_once(database_url: str, clock) -> None:
    from bot.app import CrmBot
    from handlers.cards import NoticeCard
    from tests.conftest import TEST_CONFIG, RecordingAdapter, make_config

    text = TEST_CONFIG.replace(
        "[alerts]\n", '[alerts]\nfallback_channel = "social"\nadmin_channel = "admins"\n'
    ).replace("[channels.social]", "[channels.admins]\n[channels.social]")

    class MissingChannel(RecordingAdapter):
        async def post(self, destination, card, thread):
            if destination == "support":
                raise DeliveryError("Slack chat.postMessage: channel_not_found", permanent=True)
            return await super().post(destination, card, thread)

    adapter = MissingChannel()
    bot = CrmBot(database_url, make_config(text), [adapter], clock=clock)
    bot.ingest([mention("site down")])
    await bot.dispatcher.drain()
    await bot.dispatcher.drain()
    by_destination = {p.destination: p.card for p in adapter.posts}
    assert isinstance(by_destination["social"], AlertCard)  # the alert still reached someone
    notice = by_destination["admins"]
    assert isinstance(notice, NoticeCard)
    assert "failed and will not be retried: Slack chat.postMessage: channel_not_found" in (
        notice.text
    )
    with Session(bot.db.engine) as s:
        original = s.exec(select(Outbox).where(Outbox.destination == "support")).one()
    assert (original.status, original.attempts) == ("dead", 1)
    clock.advance(hours=1)
    assert await bot.dispatcher.drain() == 0  # a dead row is not retried
    bot.db.dispose()
