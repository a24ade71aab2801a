"""Offline suggestions (no model): from the knowledge base or a template, labelled as such;
the knowledge base fills from staff replies and votes rank it; `/crm kb`, `use`, `vote`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from slack_sdk.models.blocks import Block
from sqlmodel import select

from bot.app import CrmBot
from bot.chat.console import ConsoleAdapter, render_suggestion
from bot.chat.slack import blocks as kit
from bot.chat.slack.inbound import PayloadError
from bot.chat.slack.suggestions import VERBS, suggestion_action
from bot.demo import seed_knowledge_base
from handlers.cards import SuggestionCard, card_from_outbox
from handlers.clock import FakeClock
from handlers.events import Actor
from handlers.suggest import knowledge
from handlers.suggest.redact import redact
from storage.models import HandlingEvent
from storage.suggestions import KnowledgeEntry, Suggestion
from tests.conftest import (
    TEST_CONFIG,
    BotHarness,
    RecordingAdapter,
    make_config,
    mention,
    settle,
    suggestion_cards,
)

ROOT = Path(__file__).resolve().parents[1]
ON = TEST_CONFIG + "\n[suggestions]\nenabled = true\n"


@pytest.fixture
def kb_harness(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(ON), [adapter], clock=clock)
    yield BotHarness(bot, adapter, clock)
    bot.ingestor.close()
    bot.db.dispose()


async def test_template_then_knowledge_base_suggestion(kb_harness: BotHarness) -> None:
    h = kb_harness
    h.bot.ingest([mention("my invoice download is broken", author_handle="amy")])
    await settle(h)
    first = suggestion_cards(h)[0]
    assert first.label == "offline suggestion from a template, for a complaint"
    assert "@amy" in first.text and "thank" not in first.text.lower()
    h.say("reply 1 Sorry! Invoices are back: Settings > Billing > Download.", "ana")

    h.bot.ingest([mention("invoice download broken again?", author_handle="bo")])
    await settle(h)
    second = suggestion_cards(h)[-1]
    assert second.conversation_id == 2
    assert second.label == "offline suggestion from the knowledge base, for a complaint"
    assert second.text == "Sorry! Invoices are back: Settings > Billing > Download."
    alert_ref = next(p.ref for p in h.adapter.of_kind("alert") if p.card.conversation_id == 2)
    assert h.adapter.of_kind("suggestion")[-1].thread_ref == alert_ref


async def test_disabled_by_default_and_suggest_on_demand(harness: BotHarness) -> None:
    harness.bot.ingest([mention("hello")])
    await settle(harness)
    assert harness.adapter.of_kind("suggestion") == []
    assert "Drafting" in harness.say("suggest 1")
    await settle(harness)
    assert len(harness.adapter.of_kind("suggestion")) == 1
    assert "Which conversation?" in harness.say("suggest")


async def test_votes_change_the_ranking(kb_harness: BotHarness) -> None:
    h = kb_harness
    with h.bot.db.session() as session:
        for text in ("Refunds take 5 days.", "Refunds take 3 to 5 working days."):
            knowledge.remember(
                session, text, h.clock.now(), question="refund status", origin="seed"
            )
    h.clock.advance(minutes=1)
    before = h.exec("kb refund status").tables[0].rows
    top_text = before[0][4]
    h.bot.ingest([mention("where is my refund? status please")])
    await settle(h)
    card = suggestion_cards(h)[0]
    assert card.text == top_text
    sid = f"s{card.suggestion_id}"
    assert h.say(f"vote {sid} down", "ana").startswith(f"Thanks: 👎 on suggestion {sid}")
    assert "already voted" in h.say(f"vote {sid} down", "ana")
    h.say(f"vote {sid} down", "ben")
    after = h.exec("kb refund status").tables[0].rows
    assert after[0][4] != top_text and after[1][4] == top_text
    assert after[1][2] == "+0/-2"
    # a changed mind moves the count, it does not add to it
    h.say(f"vote {sid} up", "ben")
    rows = {r[4]: r[2] for r in h.exec("kb refund status").tables[0].rows}
    assert rows[top_text] == "+1/-1"


async def test_use_records_the_reply_but_is_no_vote(kb_harness: BotHarness) -> None:
    h = kb_harness
    h.bot.ingest([mention("is there a student discount?", author_handle="sam")])
    await settle(h)
    card = suggestion_cards(h)[0]
    used = h.say(f"use s{card.suggestion_id}", "ana")
    assert used.startswith("Recorded your reply on #1") and f"s{card.suggestion_id}" in used
    with h.bot.db.session() as session:
        replied = session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).one()
        stored = session.get(Suggestion, card.suggestion_id)
        entry = session.exec(select(KnowledgeEntry)).one()
    assert replied.detail["text"] == card.text
    assert stored is not None and stored.used_by is not None and stored.used_at is not None
    assert (stored.votes_up, stored.votes_down) == (0, 0)  # using is not voting
    assert (entry.votes_up, entry.votes_down) == (0, 0)
    assert entry.text == card.text.replace("@sam", "{handle}")  # kept without the name
    assert entry.question == "is there a student discount?"
    assert "There is no suggestion s99." in h.say("use s99")
    assert "Usage" in h.say("vote 1 sideways")


def test_kb_search_and_seed(kb_harness: BotHarness) -> None:
    h = kb_harness
    assert "Usage" in h.say("kb")
    assert "Nothing in the knowledge base" in h.say("kb anything")
    assert seed_knowledge_base(h.bot, ROOT / "bot" / "data" / "knowledge_base.jsonl") == 17
    assert seed_knowledge_base(h.bot, ROOT / "bot" / "data" / "knowledge_base.jsonl") == 0
    reply = h.exec("kb enterprise pricing quote")
    top = reply.tables[0].rows[0]
    assert top[0].startswith("kb") and "Enterprise" in top[4]
    shown = " ".join(cell for row in h.exec("kb sorry").tables[0].rows for cell in row)
    assert "{handle}" not in shown and "@customer" in shown


def test_ranking_prefers_newer_entries_with_equal_words(kb_harness: BotHarness) -> None:
    h = kb_harness
    now = h.clock.now()
    with h.bot.db.session() as session:
        knowledge.remember(session, "Old answer about shipping.", now - timedelta(days=400))
        knowledge.remember(session, "New answer about shipping.", now)
        found = knowledge.search(session, "shipping answer", now)
    assert [r.entry.text for r in found] == [
        "New answer about shipping.",
        "Old answer about shipping.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe@example.co.uk now", "mail [EMAIL] now"),
        ("call +44 20 7946 0958 today", "call [PHONE] today"),
        ("card 5500-0000-0000-0004 ok", "card [CARD] ok"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN [IBAN]"),
        ("ship to 742 Evergreen Terrace Ave please", "ship to [ADDRESS] please"),
        ("order 12345 in 2026, version 2.3.1", "order 12345 in 2026, version 2.3.1"),
    ],
)
def test_redaction(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_console_and_slack_render_the_card() -> None:
    card = SuggestionCard(
        conversation_id=7,
        suggestion_id=3,
        text="Sorry! We're on it.",
        needs_human=True,
        reason="angry VIP",
        label="offline suggestion from the knowledge base",
        platform="twitter",
        limit=280,
    )
    assert card_from_outbox("suggestion", card.to_payload()) == card
    out = io.StringIO()
    Console(file=out, width=120).print(render_suggestion("support", card))
    shown = out.getvalue()
    assert "offline suggestion from the knowledge base" in shown and "/crm use s3" in shown
    assert "suggested reply s3" in shown and "/crm vote s3 up|down" in shown
    assert "needs a human: angry VIP" in shown
    blocks = kit.suggestion_blocks(card)
    for block in Block.parse_all([b.to_dict() for b in blocks]):
        block.validate_json()
    buttons = blocks[-1].to_dict()["elements"]
    assert [e["action_id"] for e in buttons] == [
        kit.SUGGESTION_USE,
        kit.SUGGESTION_UP,
        kit.SUGGESTION_DOWN,
    ]
    assert {e["value"] for e in buttons} == {"s3"}
    shown_in_slack = str([b.to_dict() for b in blocks])
    assert "Suggested reply s3" in shown_in_slack and "`/crm use s3`" in shown_in_slack
    assert "suggested reply s3" in kit.suggestion_text(card)


async def test_console_adapter_posts_the_card() -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(Console(file=out, width=120))
    await adapter.post(
        "social", SuggestionCard(conversation_id=1, suggestion_id=1, text="Hi"), None
    )
    assert "suggested reply" in out.getvalue()


async def test_slack_buttons_call_the_neutral_handlers(kb_harness: BotHarness) -> None:
    h = kb_harness
    h.bot.ingest([mention("hello there")])
    await settle(h)
    sid = suggestion_cards(h)[0].suggestion_id
    body = {"actions": [{"action_id": kit.SUGGESTION_UP, "value": f"s{sid}"}]}
    action_id, suggestion_id = suggestion_action(body)
    old_card = {"actions": [{"action_id": kit.SUGGESTION_UP, "value": str(sid)}]}
    assert suggestion_action(old_card) == (action_id, suggestion_id) == (kit.SUGGESTION_UP, sid)
    for wrong in ("kb3", "#3", "x"):
        with pytest.raises(PayloadError):
            suggestion_action({"actions": [{"action_id": kit.SUGGESTION_UP, "value": wrong}]})
    actor = Actor("console", "ana", "ana")
    assert "👍" in await h.bot.inbound.suggestion(actor, VERBS[action_id], suggestion_id)
    used = await h.bot.inbound.suggestion(actor, VERBS[kit.SUGGESTION_USE], sid)
    assert used.startswith("Recorded your reply on #1")


def test_knowledge_base_never_greets_the_wrong_person() -> None:
    from handlers.suggest.knowledge import depersonalize

    kept = depersonalize("Danke für den Test, Lena! Lena Weber, DM @lweber", "lweber", "Lena Weber")
    assert kept == "Danke für den Test, {handle}! {handle}, DM {handle}"
    assert "Lena" not in kept
    # a name's first word that is no name ("The Gadget Desk") is left alone
    kept = depersonalize("We're on the incident, The Gadget Desk!", "gadgetdesk", "The Gadget Desk")
    assert kept == "We're on the incident, {handle}!"
