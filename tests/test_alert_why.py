"""Each alert card says why it went to its channel: the rule, the route and its matchers."""

from __future__ import annotations

from rich.console import Console

from bot.chat.console import render_alert
from bot.chat.slack.blocks import alert_blocks
from handlers.cards import AlertCard
from tests.conftest import BotHarness, mention
from tests.fakes.slack_api import block_text


async def _alerts(h: BotHarness) -> dict[str, AlertCard]:
    await h.deliver()
    return {
        p.destination: p.card for p in h.adapter.of_kind("alert") if isinstance(p.card, AlertCard)
    }


async def test_the_card_names_the_rule_and_the_route(harness: BotHarness) -> None:
    harness.bot.ingest([mention("Is Acme down for anyone?")])
    (card,) = (await _alerts(harness)).values()
    assert card.why == "rule `outage` → route `routes[0]` (team=support) → #support"


async def test_an_event_matching_two_teams_explains_each_post(harness: BotHarness) -> None:
    harness.bot.ingest([mention("site down, and what is your pricing anyway")])
    cards = await _alerts(harness)
    assert cards["support"].why == (
        "rule `outage` → route `routes[0]` (team=support) → #support; also matched: pricing"
    )
    assert cards["sales"].why == (
        "rule `pricing` → route `routes[1]` (team=sales) → #sales; also matched: outage"
    )


async def test_the_default_route_says_no_rule_matched(harness: BotHarness) -> None:
    harness.bot.ingest([mention("lovely weather")])
    (card,) = (await _alerts(harness)).values()
    assert card.why == "no rule matched → the default route → #social"


def test_slack_and_console_show_the_why() -> None:
    card = AlertCard(
        conversation_id=7,
        platform="twitter",
        author_handle="jo",
        text="charged me twice",
        rule="billing complaint",
        channel="support",
        why="rule `billing complaint` → route `support queue` (team=support) → #support",
    )
    shown = block_text([b.to_dict() for b in alert_blocks(card)])
    assert "why here: rule `billing complaint` → route `support queue` (team=support)" in shown
    console = Console(width=200, record=True)
    console.print(render_alert("support", card))
    assert "why here: rule `billing complaint` → route `support queue`" in console.export_text()
