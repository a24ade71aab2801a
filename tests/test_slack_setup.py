"""Switching Slack on from the environment: the right mode, clear errors, no token leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.routing import Route

from bot.app import CrmBot
from bot.assembly import chat_adapters, http_routes
from bot.chat.console import ConsoleAdapter
from bot.chat.slack import SlackAdapter, SlackConnection, SlackSetupError
from bot.chat.slack.app import COMMAND
from bot.settings import Settings
from handlers.clock import FakeClock
from tests.fakes.slack_bot import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, slack_bot, slack_config

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_slack_variables_means_the_console(env: pytest.MonkeyPatch) -> None:
    (adapter,) = chat_adapters(Settings())
    assert isinstance(adapter, ConsoleAdapter)


def test_app_token_selects_socket_mode_and_secrets_stay_hidden(env: pytest.MonkeyPatch) -> None:
    env.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    env.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    env.setenv("SLACK_API_URL", "https://slack.gov.example/api")
    settings = Settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert BOT_TOKEN not in text and APP_TOKEN not in text and SIGNING_SECRET not in text
    (adapter,) = chat_adapters(settings)
    assert isinstance(adapter, SlackAdapter)
    assert adapter.connection.mode == "socket"
    assert adapter.client.base_url == "https://slack.gov.example/api/"
    assert BOT_TOKEN not in repr(adapter.connection)


def test_signing_secret_without_app_token_serves_slack_events(
    env: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    env.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    settings = Settings()
    (adapter,) = chat_adapters(settings)
    assert isinstance(adapter, SlackAdapter) and adapter.connection.mode == "http"
    bot = CrmBot(sqlite_url, slack_config(), [adapter])
    try:
        paths = [r.path for r in http_routes(bot, settings) if isinstance(r, Route)]
        assert "/slack/events" in paths
        assert adapter.inbound() is bot.inbound
    finally:
        bot.ingestor.close()
        bot.db.dispose()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": APP_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, "starts with xoxb-"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": BOT_TOKEN}, "starts with xapp-"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET"),
    ],
)
def test_incomplete_or_mixed_up_tokens_are_named(
    env: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(SlackSetupError, match=re.escape(message)) as caught:
        chat_adapters(Settings())
    assert BOT_TOKEN not in str(caught.value) and APP_TOKEN not in str(caught.value)


async def test_a_refused_bot_token_stops_start_up(database_url: str, clock: FakeClock) -> None:
    async with slack_bot(database_url, clock) as sb:
        wrong = SlackAdapter(
            SlackConnection(
                bot_token=SecretStr("xoxb-revoked-token"),
                signing_secret=SecretStr(SIGNING_SECRET),
                api_url=sb.fake.api_url,
            )
        )
        wrong.bind(sb.bot.inbound)
        with pytest.raises(SlackSetupError, match="Slack refused SLACK_BOT_TOKEN"):
            await wrong.start()
        sb.fake.violations.clear()  # the fake noted the bad token, as it should


async def test_an_unbound_adapter_refuses_to_start() -> None:
    adapter = SlackAdapter(
        SlackConnection(bot_token=SecretStr(BOT_TOKEN), signing_secret=SecretStr(SIGNING_SECRET))
    )
    with pytest.raises(RuntimeError, match="not bound"):
        await adapter.start()


def test_the_manifest_asks_for_what_the_bot_uses() -> None:
    manifest = (Path(__file__).parent.parent / "examples" / "slack-manifest.yaml").read_text()
    assert f"- command: {COMMAND}\n" in manifest
    for scope in (
        "chat:write",
        "commands",
        "users:read",
        "users:read.email",
        "channels:history",
        "groups:history",
        "files:write",
    ):
        assert f"      - {scope} " in manifest or f"      - {scope}\n" in manifest, scope
    for event in ("message.channels", "message.groups"):
        assert f"      - {event}\n" in manifest
    assert "socket_mode_enabled: true" in manifest and "is_enabled: true" in manifest
