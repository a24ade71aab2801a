"""The one ingest path: dedupe, enrich, thread, route, and all-or-nothing batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select

from handlers.cards import AlertCard, FollowUpCard
from storage.models import Author, Conversation, Cycle, HandlingEvent, Outbox
from storage.models import Mention as MentionRow
from tests.conftest import BotHarness, crm_event, mention


def count(h: BotHarness, model: type) -> int:
    with Session(h.bot.db.engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_duplicate_deliveries_are_stored_once(harness: BotHarness) -> None:
    m = mention("the app is down again")
    first = harness.bot.ingest([m, m])
    again = harness.bot.ingest([m])
    assert (first.stored, first.duplicates) == (1, 1)
    assert (again.stored, again.duplicates) == (0, 1)
    assert count(harness, MentionRow) == 1
    assert count(harness, Outbox) == 1


def test_keyword_rule_routes_and_sets_severity(harness: BotHarness) -> None:
    result = harness.bot.ingest(
        [
            mention("Is Acme DOWN for anyone?"),
            mention("what is your Pricing for teams"),
            mention("nice"),
        ]
    )
    assert len(result.opened) == 3
    with Session(harness.bot.db.engine) as s:
        convs = {c.title: c for c in s.exec(select(Conversation))}
    assert convs["Is Acme DOWN for anyone?"].channels == ["support"]
    assert convs["Is Acme DOWN for anyone?"].severity == "high"
    assert convs["Is Acme DOWN for anyone?"].rule == "outage"
    assert convs["what is your Pricing for teams"].channels == ["sales"]
    assert convs["nice"].channels == ["social"]  # default route


def test_keywords_match_whole_words_only(harness: BotHarness) -> None:
    harness.bot.ingest([mention("we are downloading everything"), mention("slowdown? no")])
    with Session(harness.bot.db.engine) as s:
        channels = [c.channels for c in s.exec(select(Conversation))]
    assert channels == [["social"], ["social"]]


def test_same_author_threads_into_open_conversation(harness: BotHarness) -> None:
    harness.bot.ingest([mention("app is down", author_handle="jroe")])
    result = harness.bot.ingest(
        [mention("still down!!", author_handle="JRoe"), mention("hello?", author_handle="jroe")]
    )
    assert result.opened == [] and result.threaded == 2
    with Session(harness.bot.db.engine) as s:
        conv = s.exec(select(Conversation)).one()
    assert conv.mention_count == 3
    kinds = [o.kind for o in _outbox(harness)]
    assert kinds == ["alert", "followup", "followup"]


def test_platform_thread_groups_different_authors(harness: BotHarness) -> None:
    result = harness.bot.ingest(
        [
            mention("is it down?", platform="reddit", source="reddit", thread_id="t3_abc"),
            mention("same here", platform="reddit", source="reddit", thread_id="t3_abc"),
        ]
    )
    assert len(result.opened) == 1 and result.threaded == 1


def test_no_rule_and_no_default_stores_without_alert(database_url: str, clock) -> None:
    from bot.app import CrmBot
    from tests.conftest import TEST_CONFIG, RecordingAdapter, make_config

    config = make_config(TEST_CONFIG.replace('default_channel = "social"\n', ""))
    bot = CrmBot(database_url, config, [RecordingAdapter()], clock=clock)
    result = bot.ingest([mention("just chatting")])
    assert (result.stored, result.unrouted, result.opened) == (1, 1, [])
    with Session(bot.db.engine) as s:
        row = s.exec(select(MentionRow)).one()
        assert row.conversation_id is None
        assert s.exec(select(func.count()).select_from(Outbox)).one() == 0
    bot.db.dispose()


def test_sentiment_and_influence_are_recorded(harness: BotHarness) -> None:
    harness.bot.ingest(
        [
            mention(
                "I hate this, worst app ever, terrible",
                author_handle="critic",
                author_followers=1_000_000,
            )
        ]
    )
    (row,) = _outbox(harness)
    assert row.payload["sentiment_label"] == "negative"
    assert row.payload["sentiment"] < -0.5
    assert row.payload["influence"] == 100.0
    with Session(harness.bot.db.engine) as s:
        author = s.exec(select(Author)).one()
    assert author.followers == 1_000_000


def test_mention_after_resolution_reopens_within_window(harness: BotHarness) -> None:
    harness.bot.ingest([mention("down", author_handle="jroe")])
    harness.say("resolve 1")
    harness.clock.advance(hours=2)
    result = harness.bot.ingest([mention("it broke again", author_handle="jroe")])
    assert result.reopened == [1] and result.opened == []
    with Session(harness.bot.db.engine) as s:
        conv = s.get(Conversation, 1)
        assert conv is not None and conv.status == "open" and conv.cycle == 2
        cycles = s.exec(select(Cycle).where(Cycle.conversation_id == 1)).all()
        assert [c.n for c in cycles] == [1, 2]
        reopened = s.exec(select(HandlingEvent).where(HandlingEvent.kind == "reopened")).one()
        assert reopened.actor_id is None
    followups = [
        FollowUpCard.from_payload(o.payload) for o in _outbox(harness) if o.kind == "followup"
    ]
    assert followups and followups[-1].reopened


def test_mention_long_after_resolution_opens_new_conversation(harness: BotHarness) -> None:
    harness.bot.ingest([mention("down", author_handle="jroe")])
    harness.say("resolve 1")
    harness.clock.advance(hours=25)
    result = harness.bot.ingest([mention("hi again", author_handle="jroe")])
    assert result.opened == [2] and result.reopened == []


def test_crm_event_updates_contact_and_enriches_author_alert(harness: BotHarness) -> None:
    harness.bot.ingest(
        [
            crm_event(
                contact_id="c-1",
                contact_name="Jane Roe",
                company="Roe Studio",
                contact_handles=("@JRoe",),
                deal_name="Renewal",
                stage="negotiation",
                previous_stage="proposal",
                amount=12000,
            )
        ]
    )
    harness.bot.ingest([mention("pricing question", author_handle="jroe")])
    alerts = [AlertCard.from_payload(o.payload) for o in _outbox(harness) if o.kind == "alert"]
    crm_alert, social_alert = alerts
    assert "proposal → negotiation" in crm_alert.text
    assert social_alert.contact == "Jane Roe (Roe Studio) · deal: Renewal (negotiation, $12,000)"


def test_author_seen_before_the_crm_contact_gets_linked(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hello", author_handle="sam")])
    harness.bot.ingest(
        [
            crm_event(
                kind="lead_created", contact_id="c-9", contact_name="Sam", contact_handles=("sam",)
            )
        ]
    )
    with Session(harness.bot.db.engine) as s:
        author = s.exec(select(Author)).one()
    assert author.contact_id is not None


def test_crm_events_for_one_deal_share_a_conversation(harness: BotHarness) -> None:
    a = crm_event(object_id="deal-5", stage="proposal")
    b = crm_event(object_id="deal-5", stage="negotiation", previous_stage="proposal")
    result = harness.bot.ingest([a, b])
    assert len(result.opened) == 1 and result.threaded == 1


def test_failure_part_way_leaves_nothing_written(harness: BotHarness) -> None:
    calls = {"n": 0}
    original = harness.bot.ingestor._destinations

    def flaky(channel: str):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("adapter registry exploded")
        return original(channel)

    harness.bot.ingestor._destinations = flaky
    with pytest.raises(RuntimeError):
        harness.bot.ingest([mention("one down"), mention("two down")])
    for model in (MentionRow, Conversation, Cycle, Outbox, Author):
        assert count(harness, model) == 0, model
    harness.bot.ingestor._destinations = original
    result = harness.bot.ingest([mention("one down", external_id="again-1")])
    assert result.stored == 1


def test_large_batch_with_many_duplicates(harness: BotHarness) -> None:
    batch = [mention(f"post {i}", author_handle=f"a{i % 50}") for i in range(1200)]
    result = harness.bot.ingest(batch + batch[:300])
    assert result.stored == 1200 and result.duplicates == 300
    assert len(result.opened) == 50  # one open conversation per author
    assert count(harness, MentionRow) == 1200


def test_reopen_window_boundary(harness: BotHarness) -> None:
    harness.bot.ingest([mention("x", author_handle="w")])
    harness.say("resolve 1")
    harness.clock.advance(**{"seconds": timedelta(hours=24).total_seconds() - 1})
    assert harness.bot.ingest([mention("y", author_handle="w")]).reopened == [1]


def _outbox(h: BotHarness) -> list[Outbox]:
    with Session(h.bot.db.engine) as s:
        return list(s.exec(select(Outbox).order_by(col(Outbox.id))))
