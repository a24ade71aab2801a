"""Suggestions that fit the message: drafts chosen by what the message is (complaint,
praise, question, buying signal, outage, CRM ticket), ids that say what they name
(`s33`, `kb12`, `#33`), using is not voting, and no raw `{handle}` shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from benchmarks import suggest_intent
from bot.app import CrmBot
from bot.demo import seed_knowledge_base
from handlers.clock import FakeClock
from handlers.ids import Kind, parse
from handlers.suggest import knowledge
from handlers.suggest.intent import Intent, classify, star_rating
from handlers.suggest.offline import templates
from storage.models import Conversation, HandlingEvent
from storage.suggestions import KnowledgeEntry, Suggestion
from tests.conftest import (
    TEST_CONFIG,
    BotHarness,
    RecordingAdapter,
    crm_event,
    make_config,
    mention,
    settle,
    suggestion_cards,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "bot" / "data" / "knowledge_base.jsonl"
ON = TEST_CONFIG + "\n[suggestions]\nenabled = true\n"
THANKS = ("thank", "thanks", "danke", "merci", "gracias")


@pytest.fixture
def seeded(database_url: str, clock: FakeClock) -> Iterator[BotHarness]:
    """Suggestions on, the demo's knowledge base loaded."""
    adapter = RecordingAdapter()
    bot = CrmBot(database_url, make_config(ON), [adapter], clock=clock)
    h = BotHarness(bot, adapter, clock)
    assert seed_knowledge_base(bot, SEED) > 0
    yield h
    bot.ingestor.close()
    bot.db.dispose()


async def _draft_for(h: BotHarness, text: str, **kw: object) -> tuple[str, str]:
    h.bot.ingest([mention(text, **kw)])
    await settle(h)
    card = suggestion_cards(h)[-1]
    return card.text, card.label


async def test_the_issues_three_examples_get_fitting_drafts(seeded: BotHarness) -> None:
    h = seeded
    shout_out = (
        "Shoutout to @acmecloud support, sorted out my account in 10 minutes on a Sunday. 😍"
    )
    text, label = await _draft_for(h, shout_out, author_handle="jo")
    assert label.endswith("for praise") and "Thank" in text and "@jo" in text
    assert "double charge" not in text and "Sorry" not in text

    review = (
        "★★★★★ Simple and it just works. Set it up on my parents' phones and haven't had a "
        "single 'where are my photos' call since."
    )
    text, label = await _draft_for(h, review, platform="trustpilot", source="rss")
    assert label.endswith("for praise") and "Thank" in text
    assert "SAML" not in text and "Enterprise" not in text

    ticket = "Sync stuck at 97% after 5.0 (12-seat team)"
    h.bot.ingest([crm_event("ticket_created", summary=ticket)])
    await settle(h)
    with h.bot.db.session() as session:
        conversation = session.exec(select(Conversation).where(Conversation.kind == "crm")).one()
    cards = [c for c in suggestion_cards(h) if c.conversation_id == conversation.id]
    assert len(cards) == 1
    card = cards[0]
    assert card.label.endswith("for a CRM support ticket")
    assert "ticket" in card.text and "support team" in card.text
    assert "interest" not in card.text and "thank" not in card.text.lower()


@pytest.mark.parametrize(
    "complaint",
    [
        "I was charged twice this month and support ignores me",
        "the app crashes every time I upload a video 😤",
        "Thanks for nothing @acmecloud, two weeks and still no refund",
        "★☆☆☆☆ Sync conflicts every day and support is slow.",
        "@acmecloud is the service down? web app throws 503s",
    ],
)
async def test_a_complaint_is_never_thanked(seeded: BotHarness, complaint: str) -> None:
    h = seeded
    with h.bot.db.session() as session:  # a close match that thanks: never used for one
        knowledge.remember(
            session,
            "Thanks for flagging, {handle}! Could you DM us your device model?",
            h.clock.now(),
            question=complaint,
        )
    text, label = await _draft_for(h, complaint)
    assert "complaint" in label or "outage" in label
    assert not any(word in text.lower() for word in THANKS)
    assert "Sorry" in text or "sorry" in text


async def test_kb_entries_of_another_intent_are_not_used(seeded: BotHarness) -> None:
    h = seeded
    with h.bot.db.session() as session:  # shares most words with the question, but is praise
        knowledge.remember(
            session,
            "So glad the desktop sync works for you, {handle}!",
            h.clock.now(),
            question="love how the desktop sync works",
        )
    text, label = await _draft_for(h, "how does the desktop sync work with a NAS?")
    assert label == "offline suggestion from a template, for a question"
    assert "let me check" in text.lower()


def test_templates_say_the_right_thing_per_intent() -> None:
    found = templates()
    assert set(found) == {i.value for i in Intent}
    for intent in ("complaint", "outage"):
        assert not any(w in found[intent].text.lower() for w in THANKS)
        assert "sorry" in found[intent].text.lower()
    assert "thank" in found["praise"].text.lower() and "sorry" not in found["praise"].text
    assert "sales" in found["buying"].text and "check" in found["question"].text
    assert "ticket" in found["crm_ticket"].text and "interest" not in found["crm_ticket"].text


@pytest.mark.parametrize(
    ("text", "kind", "crm_kind", "sentiment", "expected"),
    [
        ("Shoutout to support, sorted my account in 10 minutes 😍", "mention", None, 0.7, "praise"),
        ("★★★★★ Best backup app I've used.", "mention", None, 0.6, "praise"),
        ("★☆☆☆☆ Charged twice, no human reply.", "mention", None, -0.3, "complaint"),
        ("Is Acme down? Web app says 503", "mention", None, 0.0, "outage"),
        ("@acmecloud how do I turn off auto-upload?", "mention", None, 0.0, "question"),
        ("What's the price for 40 seats on Enterprise?", "mention", None, 0.0, "buying"),
        ("Seit dem Update stürzt die App ständig ab.", "mention", None, 0.0, "complaint"),
        ("la synchro est bloquée à 97 % depuis ce matin", "mention", None, 0.0, "complaint"),
        ("¿Cómo exporto mis fotos?", "mention", None, 0.0, "question"),
        ("Sync stuck at 97% after 5.0 (12-seat team)", "crm", "ticket_created", 0.0, "crm_ticket"),
        ("Demo request: Fieldnote Media (35 seats)", "crm", "lead_created", 0.0, "buying"),
        ("Brightline lost: chose Dropbox Business", "crm", "deal_stage_changed", 0.0, "other"),
        ("Rule 1: a sync service is not a backup.", "mention", None, 0.0, "other"),
    ],
)
def test_classify(
    text: str, kind: str, crm_kind: str | None, sentiment: float, expected: str
) -> None:
    assert classify(text, source_kind=kind, crm_kind=crm_kind, sentiment=sentiment) == expected


def test_star_ratings() -> None:
    assert star_rating("★★★★☆ Fast support") == 4
    assert star_rating("5/5 would buy again") == 5
    assert star_rating("1 star, never again") == 1
    assert star_rating("version 5.0 is out") is None


def test_seed_entries_answer_the_intent_they_are_labelled_with() -> None:
    for line in SEED.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        assert classify(data["question"]) == data["intent"], data["question"]


def test_ids_say_what_they_name() -> None:
    assert parse("s33") == parse("S33") and parse("s33") is not None
    assert parse("s33").kind is Kind.SUGGESTION  # type: ignore[union-attr]
    assert parse("kb12").kind is Kind.KB  # type: ignore[union-attr]
    assert parse("#33").kind is Kind.CONVERSATION  # type: ignore[union-attr]
    assert parse("33").kind is Kind.CONVERSATION  # type: ignore[union-attr]
    assert parse("s") is None and parse("kbx") is None and parse("x33") is None


async def test_a_command_refuses_the_wrong_kind_of_id(seeded: BotHarness) -> None:
    h = seeded
    h.bot.ingest([mention("is there a student discount?", author_handle="sam")])
    await settle(h)
    sid = f"s{suggestion_cards(h)[0].suggestion_id}"
    conversation = suggestion_cards(h)[0].conversation_id

    refused = h.say(f"use {conversation}")
    assert f"`{conversation}` is a conversation number" in refused
    assert "takes a suggestion id like `s33`" in refused
    assert f"The newest suggestion for #{conversation} is `{sid}`" in refused
    assert "is a conversation number" in h.say(f"vote {conversation} up")
    assert "`kb3` is a knowledge-base entry; `/crm vote` takes a suggestion id" in h.say(
        "vote kb3 up"
    )
    assert f"`{sid}` is a suggestion; `/crm suggest` takes a conversation number" in h.say(
        f"suggest {sid}"
    )
    assert "On which conversation?" in h.say("use kb3")
    assert f"`{sid}` is a suggestion; `/crm use` takes a conversation number" in h.say(
        f"use kb3 {sid}"
    )
    assert f"is for #{conversation}, not #99" in h.say(f"use {sid} 99")
    assert "There is no knowledge-base entry kb999" in h.say(f"use kb999 {conversation}")
    assert "`/crm kb kb12` shows knowledge-base entry kb12" in h.say("kb 12")
    assert "`s3` is a suggestion id, not words" in h.say("kb s3")
    with h.bot.db.session() as session:  # nothing was recorded by any refusal
        assert (
            session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).all() == []
        )


async def test_use_a_knowledge_base_entry_on_a_conversation(seeded: BotHarness) -> None:
    h = seeded
    h.bot.ingest([mention("can I share an album with my mum?", author_handle="kim")])
    await settle(h)
    with h.bot.db.session() as session:
        entry = session.exec(
            select(KnowledgeEntry).where(col(KnowledgeEntry.text).startswith("It's on our"))
        ).one()
    kb = f"kb{entry.id}"
    answer = h.say(f"use {kb} #1", "ana")
    assert answer.startswith("Recorded your reply on #1") and kb in answer
    with h.bot.db.session() as session:
        replied = session.exec(select(HandlingEvent).where(HandlingEvent.kind == "replied")).one()
        again = session.get(KnowledgeEntry, entry.id)
    assert replied.detail["text"].startswith("It's on our roadmap, @kim,")
    assert again is not None and (again.votes_up, again.votes_down) == (0, 0)
    shown = h.exec(f"kb {kb}")
    cells = [cell for row in shown.tables[0].rows for cell in row]
    assert "It's on our roadmap, @customer, and we've added your vote." in " ".join(cells)
    assert not any("{handle}" in cell for cell in cells)


async def test_using_is_not_voting_and_leaves_the_ranking_alone(seeded: BotHarness) -> None:
    h = seeded
    h.bot.ingest([mention("what does the enterprise plan cost?", author_handle="lee")])
    await settle(h)
    card = suggestion_cards(h)[0]
    assert card.label == "offline suggestion from the knowledge base, for a buying signal"
    before = h.exec("kb enterprise plan cost").tables[0].rows
    used = h.say(f"use s{card.suggestion_id}", "ana")
    assert used.startswith("Recorded your reply on #1")
    assert f"`/crm vote s{card.suggestion_id} up`" in used  # a vote is a separate, explicit act
    assert h.exec("kb enterprise plan cost").tables[0].rows == before
    with h.bot.db.session() as session:
        stored = session.get(Suggestion, card.suggestion_id)
    assert stored is not None and stored.used_by is not None
    assert (stored.votes_up, stored.votes_down) == (0, 0)
    grounded_on = f"kb{stored.kb_entry_ids[0]}"
    assert {row[0]: row[2] for row in before}[grounded_on] == "+0/-0"
    assert h.say(f"vote s{card.suggestion_id} up", "ana").startswith("Thanks: 👍")
    after = {row[0]: row[2] for row in h.exec("kb enterprise plan cost").tables[0].rows}
    assert after[grounded_on] == "+1/-0"


def test_the_intent_benchmark_meets_its_goal() -> None:
    rows = suggest_intent.load_jsonl(suggest_intent.EVAL)
    assert len(rows) >= 200 and len({r["id"] for r in rows}) == len(rows)
    assert {r["intent"] for r in rows} == {i.value for i in Intent}
    assert {r["source_kind"] for r in rows} == {"mention", "crm"}
    holdout = [r for r in rows if r["split"] == "holdout"]
    assert 0.3 <= len(holdout) / len(rows) <= 0.4
    outcomes = [o for o in suggest_intent.run(rows) if o.row["split"] == "holdout"]
    agreement = suggest_intent.share(outcomes, lambda o: o.draft_intent == o.row["intent"])
    before = suggest_intent.share(outcomes, lambda o: o.before_intent == o.row["intent"])
    assert agreement >= 0.8 and agreement > before


async def test_an_approved_suggestion_never_greets_its_customer_elsewhere(
    seeded: BotHarness,
) -> None:
    h = seeded
    text, _ = await _draft_for(h, "do you have a family plan? 🙂", author_handle="sam")
    assert "@sam" in text
    sid = f"s{suggestion_cards(h)[-1].suggestion_id}"
    assert h.say(f"vote {sid} up", "ana").startswith("Thanks: 👍")
    with h.bot.db.session() as session:
        entry = session.exec(
            select(KnowledgeEntry).where(KnowledgeEntry.origin == "approved")
        ).one()
    assert "@sam" not in entry.text and "{handle}" in entry.text
    shown = " ".join(c for row in h.exec(f"kb kb{entry.id}").tables[0].rows for c in row)
    assert "@customer" in shown and "{handle}" not in shown and "@sam" not in shown


async def test_notes_on_crm_records_never_become_drafts(harness: BotHarness) -> None:
    with harness.bot.db.session() as session:
        knowledge.remember(
            session,
            "Sent intro email with pricing and a demo link.",
            harness.clock.now(),
            question="Lead from Twitter: asking about Enterprise pricing and a demo",
            platform="crm",
        )
    harness.bot.ingest([mention("Enterprise pricing and a demo link, please?")])
    await settle(harness)
    assert "Drafting" in harness.say("suggest 1")
    await settle(harness)
    card = suggestion_cards(harness)[-1]
    assert card.label == "offline suggestion from a template, for a buying signal"
    assert "intro email" not in card.text and "sales team" in card.text
