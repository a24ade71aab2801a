"""Switching Discord on from the environment: the token, the URLs for a proxy, clear
errors, no token leaks; start-up signs in, syncs ``/crm`` to the configured guild and
connects the gateway with the intents it needs."""

from __future__ import annotations

import pytest

from bot.chat.discord import DiscordAdapter, DiscordSetupError, from_settings
from bot.settings import Settings
from handlers.clock import FakeClock
from tests.fakes.discord_api import GUILD_ID, INTENT_MESSAGE_CONTENT, TOKEN, FakeDiscord
from tests.fakes.discord_bot import discord_bot, make_fake

DISCORD_VARS = ("DISCORD_TOKEN", "DISCORD_API_URL", "DISCORD_GATEWAY_URL")
SUBCOMMANDS = {
    "lead",
    "send",
    "approve",
    "reject",
    "drafts",
    "help",
    "queue",
    "mine",
    "show",
    "claim",
    "reply",
    "resolve",
    "handoff",
    "reopen",
    "metrics",
    "leaderboard",
    "export",
    "chart",
    "suggest",
    "use",
    "vote",
    "kb",
    "admin",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in DISCORD_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_token_means_no_discord(env: pytest.MonkeyPatch) -> None:
    assert from_settings(Settings()) is None


def test_the_token_turns_discord_on_and_stays_secret(env: pytest.MonkeyPatch) -> None:
    env.setenv("DISCORD_TOKEN", TOKEN)
    env.setenv("DISCORD_API_URL", "http://ratelimit-proxy.internal:8080/api/v10/")
    env.setenv("DISCORD_GATEWAY_URL", "wss://gateway.proxy.internal/")
    settings = Settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert TOKEN not in text
    adapter = from_settings(settings)
    assert isinstance(adapter, DiscordAdapter)
    assert adapter.connection.api_url == "http://ratelimit-proxy.internal:8080/api/v10"
    assert adapter.connection.gateway_url == "wss://gateway.proxy.internal/"
    assert TOKEN not in repr(adapter.connection)


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("DISCORD_TOKEN", f"Bot {TOKEN}", "without 'Bot '"),
        ("DISCORD_TOKEN", "not-a-token", "does not look like a bot token"),
        ("DISCORD_API_URL", "discord.com/api", "DISCORD_API_URL"),
        ("DISCORD_GATEWAY_URL", "https://gateway.discord.gg", "DISCORD_GATEWAY_URL"),
    ],
)
def test_bad_settings_say_which_variable_to_fix(
    env: pytest.MonkeyPatch, name: str, value: str, complaint: str
) -> None:
    env.setenv("DISCORD_TOKEN", TOKEN)
    env.setenv(name, value)
    with pytest.raises(DiscordSetupError, match=complaint) as caught:
        from_settings(Settings())
    assert TOKEN not in str(caught.value)


async def test_start_up_signs_in_syncs_crm_to_the_guild_and_connects(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock) as db:
        assert await db.adapter.healthy()
        routes = [(c.method, c.route) for c in db.fake.calls][:3]
        assert [method for method, _ in routes] == ["GET", "GET", "PUT"]
        (command,) = db.fake.commands[GUILD_ID]
        assert command["name"] == "crm"
        assert {option["name"] for option in command["options"]} == SUBCOMMANDS
        claim = next(o for o in command["options"] if o["name"] == "claim")
        assert claim["options"][0]["autocomplete"] is True
        assert db.fake.identify is not None
        assert int(db.fake.identify["intents"]) & INTENT_MESSAGE_CONTENT
    assert not await db.adapter.healthy()


async def test_without_a_gateway_url_the_bot_asks_the_api_for_one(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with discord_bot(sqlite_url, clock, gateway_url=None) as db:
        assert await db.adapter.healthy()
        assert [c for c in db.fake.calls if c.path.endswith("/gateway/bot")]


async def test_a_refused_token_is_a_setup_error(sqlite_url: str, clock: FakeClock) -> None:
    fake = FakeDiscord(token=TOKEN.replace("fake", "real"))
    await fake.start()
    try:
        with pytest.raises(DiscordSetupError, match="DISCORD_TOKEN"):
            async with discord_bot(sqlite_url, clock, fake=fake):
                pass
    finally:
        await fake.stop()


async def test_a_guild_that_refuses_the_sync_does_not_stop_the_bot(
    sqlite_url: str, clock: FakeClock
) -> None:
    fake = make_fake()
    await fake.start()
    fake.fail("sync", 403)  # invited without the applications.commands scope
    try:
        async with discord_bot(sqlite_url, clock, fake=fake) as db:
            assert await db.adapter.healthy()
            assert GUILD_ID not in fake.commands
            assert db.adapter.client.synced == []
    finally:
        await fake.stop()


async def test_a_message_content_intent_left_off_is_named_in_the_log(
    sqlite_url: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake = make_fake()
    fake.message_content_enabled = False
    await fake.start()
    try:
        async with discord_bot(sqlite_url, clock, fake=fake) as db:
            assert not await db.adapter.healthy()
        assert "Message Content intent" in caplog.text
        assert "docs/discord.md" in caplog.text
    finally:
        await fake.stop()
