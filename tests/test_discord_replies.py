"""Answering the customer from a Discord thread, as staff meet it: Send and Edit & send on
a suggested reply, the edit box (a modal) pre-filled and submitted, a refused text handed
back, Approve / Edit / Reject on a draft, and each step of a reply shown in words.

The real adapter and discord.py client run against the loopback fake Discord; the bot
behind the :class:`ChatInbound` port is a test double that records what it was asked and
answers as the bot would, so each test checks that the right call is made with the right
arguments and that what it returns reaches the person who pressed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.chat.discord import DiscordAdapter, replying
from bot.chat.discord.identity import NOT_STAFF
from handlers.cards import Card, ReplyCard, SuggestionCard
from handlers.config import CrmbotConfig
from handlers.errors import UserError
from handlers.events import Action, Actor, Command
from handlers.inbound_port import ReviewVerb, SuggestionVerb
from handlers.replies import Reply
from tests.fakes.discord_api import Answer, FakeDiscord, Message
from tests.fakes.discord_bot import (
    CHANNEL_IDS,
    STAFF_IDS,
    STRANGER,
    DiscordGuild,
    discord_config,
    make_adapter,
    make_fake,
)

SUPPORT = CHANNEL_IDS["support"]
ANA, BEN, LEAD = STAFF_IDS["ana"], STAFF_IDS["ben"], STAFF_IDS["lead"]
SUGGESTED = "So sorry about the outage! It is fixed now; your order is safe."
DRAFT = "We have refunded your order, sorry for the trouble."


@dataclass
class Inbound:
    """A test double of the bot's ChatInbound: records each call, answers like the bot."""

    settings: CrmbotConfig = field(default_factory=discord_config)
    texts: dict[str, str] = field(default_factory=lambda: {"s7": SUGGESTED, "r12": DRAFT})
    refuse: str | None = None  # send_reply / review_reply raise UserError(refuse)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    prefill_wait: asyncio.Event | None = None  # reply_text waits for this when set

    def config(self) -> CrmbotConfig:
        return self.settings

    async def is_staff(self, actor: Actor) -> bool:
        return actor.user_id in STAFF_IDS.values()

    async def command(self, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
        self.calls.append(("command", command.actor.user_id, command.text))
        if self.refuse is not None:
            raise UserError(self.refuse)
        return Reply(text=f"Done: {command.text.split()[0]}.", ephemeral=True)

    async def action(self, action: Action, target: Actor | None = None) -> str:
        raise AssertionError("no alert button in these tests")

    async def thread_message(
        self,
        actor: Actor,
        channel: str,
        thread_ref: str,
        text: str,
        delivery_id: str | None = None,
    ) -> str | None:
        raise AssertionError("no thread message in these tests")

    async def suggestion(
        self,
        actor: Actor,
        verb: SuggestionVerb,
        suggestion_id: int,
        delivery_id: str | None = None,
    ) -> str:
        self.calls.append(("suggestion", actor.user_id, verb, suggestion_id, delivery_id))
        return f"Recorded your reply on #1 (suggestion s{suggestion_id})."

    async def send_reply(
        self,
        actor: Actor,
        conversation_id: int,
        text: str,
        suggestion_id: int | None = None,
        delivery_id: str | None = None,
    ) -> str:
        self.calls.append(
            ("send_reply", actor.user_id, conversation_id, text, suggestion_id, delivery_id)
        )
        if self.refuse is not None:
            raise UserError(self.refuse)
        return f"Queued your reply to #{conversation_id} for mastodon."

    async def review_reply(
        self,
        actor: Actor,
        reply_id: int,
        verb: ReviewVerb,
        text: str | None = None,
        delivery_id: str | None = None,
    ) -> str:
        self.calls.append(("review_reply", actor.user_id, reply_id, verb, text, delivery_id))
        if self.refuse is not None:
            raise UserError(self.refuse)
        return f"{'Approved' if verb == 'approve' else 'Rejected'} r{reply_id}."

    async def reply_text(self, actor: Actor, ref: str) -> str:
        self.calls.append(("reply_text", actor.user_id, ref))
        if self.prefill_wait is not None:
            await self.prefill_wait.wait()
        if ref not in self.texts:
            raise UserError(f"There is no {ref}.")
        return self.texts[ref]

    def made(self, name: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == name]


@contextlib.asynccontextmanager
async def discord_with(
    inbound: Inbound, fake: FakeDiscord | None = None
) -> AsyncIterator[tuple[DiscordGuild, DiscordAdapter]]:
    """The real Discord adapter, bound to ``inbound``, connected to a fake guild."""
    own = fake is None
    if fake is None:
        fake = make_fake()
        await fake.start()
    adapter = make_adapter(fake)
    adapter.bind(inbound)
    try:
        await adapter.start()
        yield DiscordGuild(fake), adapter
    finally:
        await adapter.stop()
        if own:
            await fake.stop()


async def _post(guild: DiscordGuild, adapter: DiscordAdapter, card: Card) -> Message:
    posted = await adapter.post(SUPPORT, card, None)
    return guild.fake.messages[posted.message_ref]


def _suggestion(reply_mode: str, text: str = SUGGESTED) -> SuggestionCard:
    return SuggestionCard(
        conversation_id=1,
        suggestion_id=7,
        text=text,
        label="offline suggestion from the knowledge base",
        platform="mastodon",
        limit=500,
        reply_mode=reply_mode,
    )


def _draft(state: str = "awaiting", **changes: Any) -> ReplyCard:
    values: dict[str, Any] = {
        "conversation_id": 1,
        "reply_id": 12,
        "state": state,
        "text": DRAFT,
        "author": "ana",
        "approvers": "a manager or admin",
        "platform": "mastodon",
    }
    return ReplyCard(**{**values, **changes})


def _delivery(answer: Answer, guild: DiscordGuild) -> str:
    """The delivery id the bot must pass for the interaction ``answer`` answers."""
    (call,) = [
        c for c in guild.fake.calls if c.route.endswith("/callback") and c.body is answer.callback
    ]
    return f"interaction:{call.path.split('/')[-3]}"


async def test_send_on_a_direct_mode_card_sends_the_suggested_text() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct"))
        assert card.labels == ["Send", "Edit & send", "👍", "👎"]
        assert "Send publishes it on Mastodon as your reply" in card.shown
        pressed = await guild.press(card, "crm:sug:send:1:7", user=ANA)
        assert pressed.deferred_ephemeral  # deferred at once: Discord's 3 seconds are kept
        (told,) = pressed.followups
        assert (told.content, told.ephemeral) == ("Queued your reply to #1 for mastodon.", True)
        (sent,) = inbound.made("send_reply")
        assert sent == ("send_reply", ANA, 1, SUGGESTED, 7, _delivery(pressed, guild))
        assert inbound.made("reply_text") == [("reply_text", ANA, "s7")]
    assert guild.fake.violations == []


async def test_approve_mode_says_the_send_goes_for_approval() -> None:
    async with discord_with(Inbound()) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("approve"))
        assert card.labels == ["Send for approval", "Edit & send", "👍", "👎"]
        assert "an approver publishes it" in card.shown


async def test_edit_and_send_opens_the_text_in_a_modal_and_sends_the_edited_text() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct"))
        opened = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        # the modal is the first (and only) response: nothing was deferred before it
        assert opened.modal is not None and opened.followups == []
        assert opened.modal["title"] == "Edit & send s7 (#1)"
        box = opened.modal_inputs["text"]
        assert box["value"] == SUGGESTED and box["style"] == 2 and box["max_length"] == 4000
        assert inbound.made("send_reply") == []

        edited = "Hi Jane, so sorry! It is fixed now and your order is safe."
        submitted = await guild.submit(opened, {"text": edited}, user=ANA)
        assert submitted.deferred_ephemeral
        (told,) = submitted.followups
        assert (told.content, told.ephemeral) == ("Queued your reply to #1 for mastodon.", True)
        (sent,) = inbound.made("send_reply")
        assert sent == ("send_reply", ANA, 1, edited, 7, _delivery(submitted, guild))
    assert guild.fake.violations == []


async def test_a_refused_reply_is_answered_with_the_reason_and_the_text_back() -> None:
    inbound = Inbound(refuse="Mastodon allows 500 characters; this reply has 612.")
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct"))
        opened = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        long_text = "Hi Jane! ```not a fence``` " + "We are very sorry. " * 30
        submitted = await guild.submit(opened, {"text": long_text}, user=ANA)
        (told,) = submitted.followups
        assert told.ephemeral
        assert told.content == "Mastodon allows 500 characters; this reply has 612."
        assert "We are very sorry. We are very sorry." in told.shown  # the text is not lost
        assert told.embeds[0]["title"] == "Your text (not sent)"

        # a text too long for an embed comes back as a file instead
        huge = "x" * 4095
        again = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        returned = await guild.submit(again, {"text": huge}, user=ANA)
        assert returned.followups[0].files == ["your-reply.txt"]
    assert guild.fake.violations == []


async def test_the_edit_box_is_not_opened_when_its_text_cannot_be_had() -> None:
    inbound = Inbound(texts={})
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct"))
        missing = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        assert missing.modal is None
        assert missing.original is not None and missing.original.ephemeral
        assert missing.original.content == "There is no s7."

        stranger = await guild.press(card, "crm:sug:edit:1:7", user=STRANGER)
        assert stranger.modal is None and stranger.original is not None
        assert stranger.original.content == NOT_STAFF
        refused = await guild.press(card, "crm:sug:send:1:7", user=STRANGER)
        assert refused.followups[0].content == NOT_STAFF
        assert inbound.made("send_reply") == []


async def test_a_slow_text_is_answered_within_discords_three_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(replying, "MODAL_BUDGET", 0.05)
    inbound = Inbound(prefill_wait=asyncio.Event())  # never set: the database hangs
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct"))
        slow = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        assert slow.modal is None and slow.original is not None
        assert slow.original.ephemeral and slow.original.content == replying.SLOW


async def test_a_long_suggestion_fits_the_modal() -> None:
    inbound = Inbound(texts={"s7": "é" * 5000})
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("direct", text="é" * 5000))
        opened = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        assert len(opened.modal_inputs["text"]["value"]) == 4000
    assert guild.fake.violations == []


async def test_approve_and_reject_on_a_draft_ask_the_bot_to_review_it() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, adapter):
        draft = await _post(guild, adapter, _draft())
        assert draft.labels == ["Approve", "Edit", "Reject"]
        styles = [item["style"] for row in draft.components for item in row["components"]]
        assert styles == [3, 2, 4]  # green, grey, red
        assert "Draft reply r12 waiting for approval" in draft.shown
        assert f"> {DRAFT}" in draft.shown
        assert "Written by: ana" in draft.shown and "May approve: a manager or admin" in draft.shown

        approved = await guild.press(draft, "crm:rep:approve:12", user=LEAD)
        assert approved.deferred_ephemeral and approved.followups[0].content == "Approved r12."
        rejected = await guild.press(draft, "crm:rep:reject:12", user=BEN)
        assert rejected.followups[0].content == "Rejected r12."
        assert inbound.made("review_reply") == [
            ("review_reply", LEAD, 12, "approve", None, _delivery(approved, guild)),
            ("review_reply", BEN, 12, "reject", None, _delivery(rejected, guild)),
        ]

        # the handler's refusal (the author approving their own draft) is said privately
        inbound.refuse = "You wrote r12: someone else has to approve it."
        own = await guild.press(draft, "crm:rep:approve:12", user=ANA)
        assert own.followups[0].ephemeral
        assert own.followups[0].content == "You wrote r12: someone else has to approve it."
    assert guild.fake.violations == []


async def test_edit_on_a_draft_approves_the_edited_text() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, adapter):
        draft = await _post(guild, adapter, _draft())
        opened = await guild.press(draft, "crm:rep:edit:12", user=LEAD)
        assert opened.modal is not None and opened.modal_inputs["text"]["value"] == DRAFT
        assert inbound.made("reply_text") == [("reply_text", LEAD, "r12")]
        better = "We have refunded your order in full. Sorry for the trouble!"
        submitted = await guild.submit(opened, {"text": better}, user=LEAD)
        assert submitted.followups[0].content == "Approved r12."
        assert inbound.made("review_reply") == [
            ("review_reply", LEAD, 12, "approve", better, _delivery(submitted, guild))
        ]
    assert guild.fake.violations == []


async def test_an_edit_box_submitted_after_a_restart_still_sends() -> None:
    fake = make_fake()
    await fake.start()
    try:
        first = Inbound()
        async with discord_with(first, fake) as (guild, adapter):
            card = await _post(guild, adapter, _suggestion("direct"))
            opened = await guild.press(card, "crm:sug:edit:1:7", user=ANA)
        # a new process (a restart, or another replica) receives the submit
        second = Inbound()
        async with discord_with(second, fake) as (guild, _):
            submitted = await guild.submit(opened, {"text": "Fixed now, sorry!"}, user=ANA)
            assert submitted.followups[0].content == "Queued your reply to #1 for mastodon."
            assert second.made("send_reply")[0][3] == "Fixed now, sorry!"
    finally:
        await fake.stop()


async def test_each_step_of_a_reply_is_shown_in_words() -> None:
    async with discord_with(Inbound()) as (guild, adapter):
        queued = await _post(guild, adapter, _draft("queued", approver="lead"))
        assert "Publishing reply r12 on Mastodon…" in queued.shown
        assert "Approved by: lead" in queued.shown and queued.components == []

        url = "https://mastodon.social/@acme/113000000000000001"
        published = await _post(guild, adapter, _draft("published", url=url))
        assert "Published on Mastodon" in published.shown
        assert published.embeds[0]["url"] == url and f"Link: {url}" in published.shown
        assert published.components == []

        rejected = await _post(
            guild, adapter, _draft("rejected", approver="lead", error="Too casual for a refund.")
        )
        assert "rejected" in rejected.shown and "Rejected by: lead" in rejected.shown
        assert "Why: Too casual for a refund." in rejected.shown

        failed = await _post(
            guild, adapter, _draft("failed", error="Mastodon said 422: the post was deleted.")
        )
        assert "not published on Mastodon" in failed.shown
        assert "Why: Mastodon said 422: the post was deleted." in failed.shown

        # whatever the sizes, Discord's limits hold
        await _post(
            guild,
            adapter,
            _draft("failed", text="a" * 9000, author="b" * 900, error="c" * 3000, url="x"),
        )
    assert guild.fake.violations == []


async def test_mark_replied_on_an_off_mode_card_records_a_reply_made_elsewhere() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, adapter):
        card = await _post(guild, adapter, _suggestion("off"))
        assert card.labels == ["Mark replied", "👍", "👎"]
        assert card.custom_ids[0] == "crm:sug:use:7"  # the id old messages carry
        assert "/crm use s7 records a reply you made elsewhere" in card.shown
        pressed = await guild.press(card, "crm:sug:use:7", user=ANA)
        assert pressed.followups[0].content == "Recorded your reply on #1 (suggestion s7)."
        (used,) = inbound.made("suggestion")
        assert used == ("suggestion", ANA, "use", 7, _delivery(pressed, guild))
        assert inbound.made("send_reply") == []


async def test_send_approve_and_reject_are_slash_commands_too() -> None:
    inbound = Inbound()
    async with discord_with(inbound) as (guild, _):
        sent = await guild.slash("send", conversation=1, text="Thanks, it's fixed now!")
        assert sent.deferred_ephemeral  # the answer is only for the sender
        assert sent.messages[0].content == "Done: send."
        await guild.slash("approve", reply="r12", text="Fixed, and refunded.", user=LEAD)
        await guild.slash("reject", reply="r13", user=LEAD)
        await guild.slash("drafts", user=LEAD)
        await guild.slash("lead", conversation=1)
        await guild.slash("lead", conversation=1, decision="approve", user=LEAD)
        # the text goes on as typed, for the handlers to parse like Slack's
        assert inbound.made("command") == [
            ("command", ANA, "send 1 Thanks, it's fixed now!"),
            ("command", LEAD, "approve r12 Fixed, and refunded."),
            ("command", LEAD, "reject r13"),
            ("command", LEAD, "drafts"),
            ("command", ANA, "lead 1"),
            ("command", LEAD, "lead approve 1"),
        ]
        inbound.refuse = "Replies from chat are off for #1, so nothing was sent."
        refused = await guild.slash("send", conversation=1, text="hello")
        assert refused.messages[0].ephemeral
        assert (
            refused.messages[0].content == "Replies from chat are off for #1, so nothing was sent."
        )
    assert guild.fake.violations == []
