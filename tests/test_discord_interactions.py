"""Discord as staff meet it: alerts as embeds with buttons and a thread, presses answered
within Discord's 3 seconds, the alert edited in place, thread replies counted, ``/crm``
deferred and followed up, strangers refused, buttons that survive a restart."""

from __future__ import annotations

from handlers.clock import FakeClock
from storage import conversations
from tests.conftest import TEST_CONFIG, make_config, mention
from tests.fakes.discord_api import GUILD_ID, Message
from tests.fakes.discord_bot import (
    CHANNEL_IDS,
    HELPER,
    STAFF_IDS,
    STRANGER,
    DiscordBot,
    discord_bot,
    discord_config,
    make_fake,
)

SUPPORT = CHANNEL_IDS["support"]
SALES = CHANNEL_IDS["sales"]
ANA, BEN, LEAD = STAFF_IDS["ana"], STAFF_IDS["ben"], STAFF_IDS["lead"]


async def _alert(db: DiscordBot, text: str = "your app is down", channel: str = SUPPORT) -> Message:
    db.bot.ingest([mention(text, author_handle="jroe")])
    await db.deliver()
    return db.fake.posts(channel)[-1]


async def _redrawn(db: DiscordBot, message: Message, text: str) -> None:
    await db.deliver()
    await db.fake.wait_for(lambda: text in db.fake.messages[message.id].shown)


async def test_a_mention_becomes_an_embed_with_buttons_and_its_own_thread(
    sqlite_url: str, clock: FakeClock
) -> None:
    config = discord_config(make_config(TEST_CONFIG + "\n[suggestions]\nenabled = true\n"))
    async with discord_bot(sqlite_url, clock, config=config) as db:
        db.bot.ingest([mention("@acme your app is down, lost my order", author_handle="jroe")])
        await db.deliver()
        await db.bot.suggestions.idle()  # the suggested reply is drafted after the alert
        await db.deliver()
        (alert,) = db.fake.posts(SUPPORT)
        assert "HIGH · #1" in alert.shown and "@jroe" in alert.shown
        assert alert.labels == ["Claim", "Mark replied", "Resolve", "Hand off to…"]
        assert alert.custom_ids[0] == "crm:claim:1"
        # the conversation's thread hangs off the alert, and its suggested reply is in it
        assert alert.thread_id is not None
        (thread_call,) = db.fake.calls_to("thread")
        assert thread_call.body["name"].startswith("#1 @jroe: ")
        (suggestion,) = db.fake.posts(alert.thread_id)
        assert "Suggested reply" in suggestion.shown
        assert suggestion.labels == ["Mark replied", "👍", "👎"]
        voted = await db.press(suggestion, "crm:sug:up:1", user=ANA)
        assert voted.followups[0].ephemeral
        assert voted.followups[0].content == "Thanks: 👍 on suggestion s1 (#1)."
        typed = await db.slash("vote", suggestion="s1", verdict="down", user=ANA)
        assert typed.messages[0].content == "Thanks: 👎 on suggestion s1 (#1)."
        used = await db.press(suggestion, "crm:sug:use:1", user=ANA)
        assert used.followups[0].content.startswith("Recorded your reply on #1")
        await _redrawn(db, alert, "replied by @ana")
    assert db.fake.violations == []


async def test_claim_is_answered_privately_and_the_alert_is_edited_in_place(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        alert = await _alert(db)
        clock.advance(minutes=2)
        answer = await db.press(alert, "crm:claim:1", user=ANA)
        assert answer.deferred_ephemeral  # deferred at once: Discord's 3 seconds are kept
        (told,) = answer.followups
        assert (told.content, told.ephemeral) == ("You claimed #1.", True)
        await _redrawn(db, alert, "claimed by @ana 2m after alert")
        assert "Claim" not in db.fake.messages[alert.id].labels
        assert db.fake.messages[alert.id].labels == ["Mark replied", "Resolve", "Hand off to…"]

        handed = await db.press(alert, "crm:handoff:1", user=ANA, picked=BEN)
        assert "@ben" in handed.followups[0].content
        await _redrawn(db, alert, "owner @ben")

        resolved = await db.press(alert, "crm:resolve:1", user=BEN)
        assert resolved.followups[0].content == "Resolved #1."
        await _redrawn(db, alert, "Resolved")
        assert db.fake.messages[alert.id].labels == ["Reopen"]
        assert "> your app is down" in db.fake.messages[alert.id].shown  # still the alert
        assert len(db.fake.calls_to("send")) == 1  # edited, never reposted
    assert db.fake.violations == []


async def test_a_staff_message_in_the_thread_is_their_reply(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        alert = await _alert(db)
        assert alert.thread_id is not None
        clock.advance(minutes=4)
        said = await db.say_in_thread(alert.thread_id, "So sorry! The fix is rolling out.", ANA)
        await db.fake.wait_for(lambda: said.reactions == ["✅"])
        # the first responder is assigned, and the alert says who replied
        await _redrawn(db, alert, "replied by @ana")
        assert "owner @ana" in db.fake.messages[alert.id].shown

        # a stranger chatting in the thread is no reply
        other = await db.say_in_thread(alert.thread_id, "me too!", STRANGER)
        mine = await db.slash("show", conversation=1, user=ANA)
        assert "me too" not in "\n".join(m.shown for m in mine.messages)
        assert other.reactions == []


async def test_a_reply_in_a_thread_the_bot_has_not_seen_is_still_counted(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        db.fake.announce_threads = False  # e.g. the gateway was down when it was made
        alert = await _alert(db)
        assert alert.thread_id is not None
        said = await db.say_in_thread(alert.thread_id, "Looking into it now.", ANA)
        await db.fake.wait_for(lambda: said.reactions == ["✅"])
        assert any(c.path.endswith(f"/channels/{alert.thread_id}") for c in db.fake.calls)


async def test_replies_in_an_alerts_only_channel_do_not_count(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        alert = await _alert(db, "what does the enterprise plan cost?", channel=SALES)
        assert alert.thread_id is not None
        said = await db.say_in_thread(alert.thread_id, "internal note: ask Dana", ANA)
        shown = await db.slash("show", conversation=1, user=ANA)
        assert "replied" not in "\n".join(m.shown for m in shown.messages)
        assert said.reactions == []


async def test_a_slash_command_is_deferred_then_followed_up(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        await _alert(db)
        queue = await db.slash("queue", user=ANA)
        assert queue.callback == {"type": 5}  # deferred, public
        (shown,) = queue.messages
        assert shown.content == "1 open conversations, 1 unclaimed."
        assert "#1" in shown.shown and "@jroe" in shown.shown and not shown.ephemeral

        # an error is only for the asker: the public "thinking…" message is replaced
        missing = await db.slash("claim", conversation=99, user=ANA)
        assert missing.deleted
        (error,) = missing.followups
        assert error.ephemeral and "no conversation #99" in error.content

        mine = await db.slash("mine", user=ANA)
        assert mine.deferred_ephemeral and mine.messages[0].ephemeral

        handed = await db.slash("handoff", conversation=1, to={"user": BEN}, user=ANA)
        assert "@ben" in handed.messages[0].content

        choices = await db.autocomplete("claim", "conversation", "1")
        assert [c["value"] for c in choices] == [1]
        assert choices[0]["name"].startswith("#1")
    assert db.fake.violations == []


async def test_people_without_a_staff_record_or_role_are_refused_politely(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        alert = await _alert(db)
        pressed = await db.press(alert, "crm:claim:1", user=STRANGER)
        assert pressed.followups[0].ephemeral
        assert pressed.followups[0].content.startswith(
            "Sorry, crmbot only works with the support team"
        )
        typed = await db.slash("queue", user=STRANGER)
        assert typed.followups[0].ephemeral and "Sorry" in typed.followups[0].content
        assert await db.autocomplete("claim", "conversation", "", user=STRANGER) == []
        with db.bot.db.session() as session:
            conv = conversations.get(session, 1)
            assert conv is not None and conv.status == "open"

        # a Discord role named in [roles] is enough
        helped = await db.press(alert, "crm:claim:1", user=HELPER)
        assert helped.followups[0].content == "You claimed #1."


async def test_reports_need_a_manager_exports_go_by_dm_and_charts_as_files(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        await _alert(db)
        denied = await db.slash("leaderboard", period="7d", user=ANA)
        assert denied.deleted  # the public "thinking…" is replaced by a private refusal
        assert denied.followups[0].ephemeral and "Only managers" in denied.followups[0].content

        exported = await db.slash("export", period="7d", user=LEAD)
        assert exported.deferred_ephemeral
        assert "direct message" in exported.messages[0].content
        (dm,) = [m for m in db.fake.messages.values() if m.channel_id in db.fake.dms]
        assert db.fake.dms[dm.channel_id] == LEAD and dm.files[0].endswith(".csv")

        chart = await db.slash("chart", options="7d", user=LEAD)
        assert chart.messages[0].files and chart.messages[0].files[0].endswith(".png")


async def test_buttons_on_an_alert_posted_before_a_restart_still_work(
    database_url: str, clock: FakeClock
) -> None:
    fake = make_fake()
    await fake.start()
    try:
        async with discord_bot(database_url, clock, fake=fake) as first:
            alert = await _alert(first)
        # a new process (a restart, or another replica): new client, same Discord and database
        async with discord_bot(database_url, clock, fake=fake) as second:
            answer = await second.press(alert, "crm:claim:1", user=ANA)
            assert answer.followups[0].content == "You claimed #1."
            await _redrawn(second, alert, "claimed by @ana")
            # the thread is known to the new process too (GUILD_CREATE lists it)
            assert alert.thread_id is not None
            said = await second.say_in_thread(alert.thread_id, "Fixed now, sorry!", ANA)
            await second.fake.wait_for(lambda: said.reactions == ["✅"])
        assert fake.identify is not None and len(fake.commands[GUILD_ID]) == 1
    finally:
        await fake.stop()
