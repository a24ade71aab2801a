"""Re-labelling sentiment with a model: the real openai client against a loopback fake
OpenAI-compatible server. Alerts never wait for it; when it fails, the offline label stands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from openai import AsyncOpenAI
from sqlmodel import col, select

from bot.app import CrmBot
from bot.chat.slack.blocks import sentiment_text
from bot.llm_sentiment import OpenAISentimentModel
from handlers.cards import AlertCard, StatusCard
from handlers.clock import FakeClock
from handlers.sentiment import label
from handlers.sentiment.model import MalformedLabels, banded, parse_labels
from storage.models import Conversation, Outbox
from storage.models import Mention as MentionRow
from tests.conftest import TEST_CONFIG, BotHarness, RecordingAdapter, make_config, mention
from tests.fakes.openai_api import FakeOpenAI

MODEL_CONFIG = """
[sentiment]
model = "test-sentiment"
timeout = 0.3
batch_size = 2
"""


@asynccontextmanager
async def _bot(
    database_url: str, clock: FakeClock, fake: FakeOpenAI, config: str
) -> AsyncIterator[BotHarness]:
    client = AsyncOpenAI(api_key="sk-test-secret", base_url=fake.url)
    adapter = RecordingAdapter()
    bot = CrmBot(
        database_url,
        make_config(TEST_CONFIG + config),
        [adapter],
        clock=clock,
        sentiment_model=OpenAISentimentModel(client),
    )
    try:
        yield BotHarness(bot, adapter, clock)
    finally:
        await bot.relabeller.idle()
        await client.close()
        bot.ingestor.close()
        bot.db.dispose()


@pytest.fixture
async def model_harness(
    database_url: str, clock: FakeClock, fake_openai: FakeOpenAI
) -> AsyncIterator[BotHarness]:
    async with _bot(database_url, clock, fake_openai, MODEL_CONFIG) as h:
        yield h


def _labels(*items: tuple[int, str, float]) -> str:
    return json.dumps({"labels": [{"id": i, "label": n, "score": s} for i, n, s in items]})


def _mentions(h: BotHarness) -> list[MentionRow]:
    with h.bot.db.session() as session:
        return list(session.exec(select(MentionRow).order_by(col(MentionRow.id))).all())


def _alert(h: BotHarness) -> AlertCard:
    with h.bot.db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.kind == "alert")).one()
    return AlertCard.from_payload(row.payload)


async def test_the_model_relabels_in_batches_and_show_names_it(
    model_harness: BotHarness, fake_openai: FakeOpenAI
) -> None:
    h = model_harness
    fake_openai.raw(_labels((1, "negative", -0.7), (2, "positive", 0.6)))
    fake_openai.raw(_labels((3, "neutral", 0.0)))
    h.bot.ingest(
        [
            mention(
                "Interesting choice to move the export button. Mail jo@example.com",
                author_handle="kim",
            ),
            mention("@acme the family plan is lovely", author_handle="lee"),
            mention("@acme which plan has version history?", author_handle="max"),
        ]
    )
    await h.bot.relabeller.idle()
    rows = _mentions(h)
    assert [(r.sentiment_by, label(r.sentiment)) for r in rows] == [
        ("test-sentiment", "negative"),
        ("test-sentiment", "positive"),
        ("test-sentiment", "neutral"),
    ]
    # two requests of at most batch_size texts, each to the configured model
    assert [r["model"] for r in fake_openai.requests] == ["test-sentiment", "test-sentiment"]
    first = fake_openai.requests[0]["messages"]
    assert first[0]["role"] == "system" and "sentiment" in first[0]["content"]
    assert '<message id="1">' in first[1]["content"] and '<message id="2">' in first[1]["content"]
    assert "jo@example.com" not in first[1]["content"] and "[EMAIL]" in first[1]["content"]
    assert "sk-test-secret" in fake_openai.headers[0]["Authorization"]
    with h.bot.db.session() as session:
        kim = session.exec(select(Conversation).order_by(col(Conversation.id))).first()
    assert kim is not None and kim.sentiment_by == "test-sentiment"
    assert "sentiment: negative (-0.70, test-sentiment)" in h.say(f"show {kim.id}")
    queue = {row[0]: row[3] for row in h.exec("queue").tables[0].rows}
    assert queue[f"#{kim.id}"] == "negative"


async def test_a_slow_model_never_delays_the_alert_and_the_offline_label_stands(
    model_harness: BotHarness, fake_openai: FakeOpenAI
) -> None:
    h = model_harness
    release = asyncio.Event()
    fake_openai.hold(release)
    h.bot.ingest([mention("@acme the app is down and not working", author_handle="kim")])
    # the alert is queued and delivered while the model has not answered
    assert await h.deliver() >= 1
    assert [p.card.kind for p in h.adapter.posts] == ["alert"]
    assert _alert(h).sentiment_label == "negative" and _alert(h).sentiment_by == "offline"
    await h.bot.relabeller.idle()  # the request times out after [sentiment] timeout
    release.set()
    assert len(fake_openai.requests) == 1
    assert [r.sentiment_by for r in _mentions(h)] == ["offline"]
    assert "negative" in h.say("show 1") and "offline)" in h.say("show 1")


@pytest.mark.parametrize(
    "answer",
    [
        "It is negative.",
        _labels((99, "negative", -0.5)),  # not the message asked about
        json.dumps({"labels": [{"id": 1, "label": "furious", "score": -0.9}]}),
    ],
)
async def test_a_malformed_answer_keeps_the_offline_label(
    model_harness: BotHarness, fake_openai: FakeOpenAI, answer: str
) -> None:
    h = model_harness
    fake_openai.raw(answer)
    h.bot.ingest([mention("@acme charged twice, still no refund", author_handle="kim")])
    await h.bot.relabeller.idle()
    assert len(fake_openai.requests) == 1
    rows = _mentions(h)
    assert [(r.sentiment_by, label(r.sentiment)) for r in rows] == [("offline", "negative")]


async def test_a_model_label_that_changes_the_conversation_redraws_its_alert(
    database_url: str, clock: FakeClock, fake_openai: FakeOpenAI
) -> None:
    async with _bot(database_url, clock, fake_openai, "") as h:
        h.bot.ingest([mention("Interesting choice to hide the export button", author_handle="kim")])
        await h.deliver()
        assert _alert(h).sentiment_label != "negative"
        # the admin turns the model on: the last hour's mentions are re-labelled
        h.bot.apply_config(make_config(TEST_CONFIG + MODEL_CONFIG))
        fake_openai.raw(_labels((1, "negative", -0.6)))
        assert h.bot.relabeller.request()
        await h.bot.relabeller.idle()
        await h.deliver()
        alert = _alert(h)
        assert (alert.sentiment_label, alert.sentiment_by) == ("negative", "test-sentiment")
        edits = [p.card for p in h.adapter.posts if p.edit]
        assert len(edits) == 1 and isinstance(edits[0], StatusCard)
        assert edits[0].line == "sentiment now negative (-0.60, test-sentiment)"
        assert h.exec("queue").tables[0].rows[0][3] == "negative"


async def test_without_a_model_in_config_nothing_is_sent(
    database_url: str, clock: FakeClock, fake_openai: FakeOpenAI
) -> None:
    async with _bot(database_url, clock, fake_openai, "") as h:
        h.bot.ingest([mention("@acme the app is down", author_handle="kim")])
        assert not h.bot.relabeller.request()
        await h.bot.relabeller.idle()
        assert fake_openai.requests == []
        assert [r.sentiment_by for r in _mentions(h)] == ["offline"]


def test_parse_labels_accepts_fenced_json_and_bands_the_score() -> None:
    content = "```json\n" + _labels((1, "negative", 0.4), (2, "neutral", 0.01)) + "\n```"
    assert parse_labels(content, [1, 2]) == {1: -0.5, 2: 0.01}
    assert banded("positive", 0.8) == 0.8
    with pytest.raises(MalformedLabels):
        parse_labels(_labels((1, "negative", -2.0)), [1])


def test_the_slack_card_names_the_model_that_decided() -> None:
    assert sentiment_text("negative", -0.62) == ":disappointed: negative (-0.62)"
    assert sentiment_text("negative", -0.7, "gpt-4o-mini").endswith("· by gpt-4o-mini")
