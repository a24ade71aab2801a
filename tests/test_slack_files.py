"""Files in Slack: exports and charts are uploaded with files_upload_v2 (URL, upload,
complete); private answers go to a direct message, never the channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handlers.clock import FakeClock
from tests.conftest import mention
from tests.fakes.slack_bot import CHANNEL_IDS, STAFF_IDS, SlackBot, slack_bot

SUPPORT = CHANNEL_IDS["support"]
ANA, LEAD = STAFF_IDS["ana"], STAFF_IDS["lead"]


@pytest.fixture
async def sb(database_url: str, clock: FakeClock) -> AsyncIterator[SlackBot]:
    async with slack_bot(database_url, clock) as bot:
        yield bot
    assert bot.fake.violations == []


async def test_chart_is_uploaded_to_the_channel(sb: SlackBot) -> None:
    sb.bot.ingest([mention("the app is down", author_handle="jroe")])
    answer = await sb.slash("chart 7d", user=LEAD)
    assert answer.text.startswith("Charts for the last 7d: 1 conversation cycles.")
    await sb.fake.wait_for(lambda: bool(sb.fake.shared))
    ((channel, file_id, title),) = sb.fake.shared
    assert channel == SUPPORT and title == "crmbot-7d.png"
    assert sb.fake.uploads[file_id].startswith(b"\x89PNG\r\n\x1a\n")


async def test_export_goes_to_the_asker_privately(sb: SlackBot) -> None:
    sb.bot.ingest([mention("the app is down", author_handle="jroe")])
    answer = await sb.slash("export 30d", user=LEAD)
    assert answer.ephemeral
    await sb.fake.wait_for(lambda: bool(sb.fake.shared))
    ((channel, file_id, title),) = sb.fake.shared
    assert channel == f"D{LEAD}" and title.endswith("-30d.csv")
    header = sb.fake.uploads[file_id].decode().splitlines()[0]
    assert header.startswith("conversation")


async def test_staff_cannot_export(sb: SlackBot) -> None:
    answer = await sb.slash("export 30d", user=ANA)
    assert answer.ephemeral and "Only managers" in answer.text
    assert sb.fake.shared == []


async def test_slack_user_group_in_roles_grants_the_manager_view(
    database_url: str, clock: FakeClock
) -> None:
    from tests.conftest import TEST_CONFIG, make_config
    from tests.fakes.slack_bot import slack_config

    config = slack_config(
        make_config(TEST_CONFIG + '\n[roles]\nmanagers = ["slack-group:S0LEADS"]\n')
    )
    async with slack_bot(database_url, clock, config=config) as sb:
        sb.fake.usergroups = [{"id": "S0LEADS", "handle": "leads", "users": [ANA]}]
        sb.bot.ingest([mention("the app is down", author_handle="jroe")])
        answer = await sb.slash("export 7d", user=ANA)
        assert answer.ephemeral and not answer.text.startswith("Only managers")
        assert any(call.method == "usergroups.list" for call in sb.fake.calls)
        assert sb.fake.violations == []
