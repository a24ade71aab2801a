"""Hot reload: a valid file swaps in whole; an invalid one keeps the old config and tells
the admins; `/crm admin reload` is for admins only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reload import ConfigReloader
from handlers.cards import NoticeCard
from tests.conftest import TEST_CONFIG, BotHarness, mention


def with_admins(text: str) -> str:
    text = text.replace("[alerts]\n", '[alerts]\nadmin_channel = "admins"\n', 1)
    text = text.replace("[channels.social]", "[channels.admins]\n[channels.social]", 1)
    return text + '\n[roles]\nadmins = ["console:boss"]\n'


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "crmbot.toml"
    path.write_text(with_admins(TEST_CONFIG))
    return path


@pytest.fixture
def reloader(harness: BotHarness, config_file: Path) -> ConfigReloader:
    reloader = ConfigReloader(harness.bot, config_file)
    assert reloader.reload("start")[0]
    harness.bot.ctx.reload_config = reloader.reload
    return reloader


async def test_valid_change_applies_in_one_step(harness: BotHarness, reloader, config_file) -> None:
    config_file.write_text(
        with_admins(TEST_CONFIG).replace('"pricing", ', '"pricing", "invoice", ')
    )
    ok, message = reloader.reload("SIGHUP")
    assert ok and message.startswith(
        f"Config reloaded from {config_file} (SIGHUP): 3 rules, 2 routes"
    )
    harness.bot.ingest([mention("where is my invoice")])
    await harness.deliver()
    assert harness.adapter.posts[-1].destination == "sales"


async def test_invalid_change_keeps_old_config_and_tells_admins(
    harness: BotHarness, reloader, config_file
) -> None:
    config_file.write_text(
        with_admins(TEST_CONFIG).replace('channel = "sales"', 'channel = "sails"')
    )
    ok, message = reloader.reload("file change")
    assert not ok
    assert "refused; the previous config stays in force" in message
    assert "routes[1].channel: unknown channel 'sails' (did you mean 'sales'?)" in message
    await harness.deliver()
    (notice,) = [p for p in harness.adapter.posts if isinstance(p.card, NoticeCard)]
    assert notice.destination == "admins"
    assert isinstance(notice.card, NoticeCard) and "sails" in notice.card.text
    harness.bot.ingest([mention("what is your pricing")])  # the old routes still work
    await harness.deliver()
    assert harness.adapter.posts[-1].destination == "sales"


async def test_failing_config_tests_block_the_reload(
    harness: BotHarness, reloader, config_file
) -> None:
    config_file.write_text(
        with_admins(TEST_CONFIG)
        + '\n[[tests]]\nevent = { type = "mention", text = "down" }\nexpect = ["sales"]\n'
    )
    ok, message = reloader.reload("file change")
    assert not ok and "expected ['sales'], got ['support']" in message


def test_admin_reload_command_is_for_admins(harness: BotHarness, reloader) -> None:
    reply = harness.exec("admin reload", "ana")
    assert reply.ephemeral
    assert (
        reply.text
        == "Only admins can reload the config. Ask an admin to add you to [roles] in the config."
    )
    assert harness.say("admin reload", "boss").startswith("Config reloaded from")
    assert harness.say("admin frobnicate", "boss") == (
        "Usage: `/crm admin reload` or `/crm admin forget HANDLE [PLATFORM]`"
    )


def test_roles_table_grants_manager_view(harness: BotHarness, reloader, config_file) -> None:
    harness.bot.ingest([mention("down", author_handle="a")])
    harness.say("claim 1", "ana")
    harness.say("claim 1", "ben")
    staff_view = harness.exec("metrics 7d", "ben")
    assert [t.title for t in staff_view.tables] == ["Times"]  # ben has no rows of his own
    config_file.write_text(
        with_admins(TEST_CONFIG).replace(
            'admins = ["console:boss"]', 'admins = ["console:boss"]\nmanagers = ["console:ben"]'
        )
    )
    assert reloader.reload("SIGHUP")[0]
    manager_view = harness.exec("metrics 7d", "ben")
    assert [t.title for t in manager_view.tables] == ["Times", "By staff"]
