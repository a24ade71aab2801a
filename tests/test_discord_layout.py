"""Discord layouts stay inside Discord's limits whatever the text, and say what matters.

Every message is checked with the fake Discord's own validator (the 50035 rules)."""

from __future__ import annotations

import random
from typing import Any

import discord
import pytest

from bot.chat.discord import components as ui
from bot.chat.discord import embeds as layout
from bot.chat.discord.limits import clip, clip_escaped, quote, units
from bot.chat.discord.replies import pages
from handlers.cards import AlertCard, DigestCard, FollowUpCard, StatusCard, SuggestionCard
from handlers.replies import Reply, Table
from tests.fakes.discord_api import check_message

ALPHABET = "ab *_~`|>@\n🚀é#<>"


def _body(
    content: str | None, embeds: list[discord.Embed], view: discord.ui.View | None = None
) -> dict[str, Any]:
    return {
        "content": content,
        "embeds": [e.to_dict() for e in embeds],
        "components": view.to_components() if view is not None else [],
    }


def _shown(body: dict[str, Any]) -> str:
    parts = [body.get("content") or ""]
    for embed in body["embeds"]:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def _custom_ids(view: discord.ui.View) -> list[str]:
    return [
        item["custom_id"]
        for row in view.to_components()
        for item in row["components"]
        if "custom_id" in item
    ]


@pytest.mark.parametrize("seed", range(20))
def test_clipped_text_fits_and_never_cuts_an_escape(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 600)))
    limit = rng.randint(10, 400)
    for out in (clip(text, limit), clip_escaped(text, limit), quote(text, limit)):
        assert units(out) <= limit
    escaped = clip_escaped(text, limit).removesuffix("…")
    assert not escaped.endswith("\\") or escaped.endswith("\\\\")


async def test_a_huge_alert_stays_within_every_limit_and_links_to_the_rest() -> None:
    card = AlertCard(
        conversation_id=123456,
        source="twitter",
        platform="twitter",
        title="t" * 1000,
        text="your app is down " * 800,
        url="https://twitter.test/jroe/status/1",
        author_handle="j" * 400,
        author_name="Jane " * 200,
        followers=1_250_000,
        influence=88,
        sentiment=-0.7,
        sentiment_label="negative",
        severity="critical",
        rule="r" * 2000,
        contact="c" * 5000,
        escalation="unclaimed for 15m " * 100,
    )
    status = StatusCard(conversation_id=123456, status="claimed", line="x" * 5000, assignee="ana")
    body = _body(
        layout.alert_content(card, ["<@42>"]),
        [layout.alert_embed(card, status)],
        ui.alert_view(123456, "claimed"),
    )
    assert check_message(body) == []
    description = body["embeds"][0]["description"]
    assert description.endswith("[read the rest](https://twitter.test/jroe/status/1)")
    assert body["content"].startswith("<@42> CRITICAL #123456")
    assert len(layout.thread_name(card)) <= 100


async def test_an_alert_says_who_what_where_and_why() -> None:
    card = AlertCard(
        conversation_id=12,
        source="mastodon",
        platform="mastodon",
        text="@everyone **refund** me now",
        url="https://mastodon.test/@jroe/1",
        author_handle="jroe",
        followers=15_300,
        influence=61,
        sentiment=-0.62,
        sentiment_label="negative",
        severity="high",
        rule="outage",
        contact="Jane Roe (Roe Studio) · deal Renewal",
    )
    body = _body(layout.alert_content(card, []), [layout.alert_embed(card)], ui.alert_view(12))
    shown = _shown(body)
    for expected in ("HIGH · #12 · mastodon", "@jroe", "15.3k followers", "negative (-0.62)"):
        assert expected in shown
    assert "CRM: Jane Roe (Roe Studio)" in shown and "Rule: outage" in shown
    assert body["embeds"][0]["url"] == "https://mastodon.test/@jroe/1"
    # what the customer wrote can neither ping the server nor format the alert
    assert "@everyone" not in body["embeds"][0]["description"]
    assert "\\*\\*refund\\*\\*" in body["embeds"][0]["description"]


async def test_buttons_follow_the_state_and_carry_the_conversation() -> None:
    assert _custom_ids(ui.alert_view(7)) == [
        "crm:claim:7",
        "crm:reply:7",
        "crm:resolve:7",
        "crm:handoff:7",
    ]
    assert _custom_ids(ui.alert_view(7, "claimed")) == [
        "crm:reply:7",
        "crm:resolve:7",
        "crm:handoff:7",
    ]
    assert _custom_ids(ui.alert_view(7, "resolved")) == ["crm:reopen:7"]
    biggest = 10**19 - 1  # a conversation id that still fits the templates
    for custom_id in _custom_ids(ui.alert_view(biggest)):
        assert len(custom_id) <= 100
        assert any(
            item.__discord_ui_compiled_template__.fullmatch(custom_id) for item in ui.DYNAMIC_ITEMS
        )
    labels = [
        item.get("label") or item.get("placeholder")
        for row in ui.alert_view(7).to_components()
        for item in row["components"]
    ]
    assert labels == ["Claim", "Mark replied", "Resolve", "Hand off to…"]


async def test_a_digest_lists_the_first_alerts_counts_all_and_offers_claims() -> None:
    items = tuple(
        {
            "conversation_id": n,
            "severity": "high",
            "who": "@" + "x" * 300,
            "platform": "twitter",
            "title": "y" * 1000,
            "url": f"https://t.test/{n}",
        }
        for n in range(1, 11)
    )
    card = DigestCard(
        conversation_id=None,
        reason="burst over the channel budget of 50 posts a minute",
        total=240,
        items=items,
        counts={"high": 200, "normal": 40},
    )
    view = ui.digest_view(layout.digest_claimable(card))
    body = _body(None, [layout.digest_embed(card)], view)
    assert check_message(body) == []
    shown = _shown(body)
    assert "240 alerts" in shown and "more: `/crm queue`" in shown and "200 high" in shown
    assert _custom_ids(view) == [f"crm:claim:{n}" for n in range(1, 11)]


async def test_follow_ups_and_suggestions_fit_and_offer_use_and_votes() -> None:
    followup = FollowUpCard(conversation_id=3, author_handle="jroe", text="z" * 9000, reopened=True)
    body = _body(None, [layout.followup_embed(followup)])
    assert check_message(body) == []
    assert "Reopened" in _shown(body)
    suggestion = SuggestionCard(
        conversation_id=3,
        suggestion_id=8,
        text="w" * 9000,
        needs_human=True,
        reason="legal threat " * 200,
        label="offline suggestion from the knowledge base",
        platform="twitter",
        limit=280,
    )
    view = ui.suggestion_view(8)
    body = _body(None, [layout.suggestion_embed(suggestion)], view)
    assert check_message(body) == []
    assert _custom_ids(view) == ["crm:sug:use:8", "crm:sug:up:8", "crm:sug:down:8"]
    assert "/crm use s8" in _shown(body) and "Suggested reply s8" in _shown(body)


def test_a_long_answer_is_split_over_messages_within_limits() -> None:
    rows = tuple((f"#{n}", "high", "@someone", "q" * 80) for n in range(400))
    reply = Reply(
        text="400 open conversations", tables=(Table("Queue", ("id", "sev", "from", "what"), rows),)
    )
    answer = pages(reply)
    assert 1 < len(answer) <= 5
    for page in answer:
        assert check_message(_body(page.content or None, page.embeds)) == []
    assert answer[0].content.startswith("400 open conversations")
    text = "\n".join(e.description or "" for page in answer for e in page.embeds)
    assert "#0 " in text and "#399 " in text  # nothing lost

    huge = pages(Reply(text="many", tables=(Table("Queue", ("id", "what"), rows * 10),)))
    assert len(huge) == 5
    assert "more messages not shown" in huge[-1].content
    for page in huge:
        assert check_message(_body(page.content or None, page.embeds)) == []


def test_a_short_table_keeps_its_columns_aligned() -> None:
    reply = Reply(
        text="Metrics", tables=(Table("Times", ("what", "n"), (("time to claim", "1"),)),)
    )
    (page,) = pages(reply)
    (embed,) = page.embeds
    assert embed.title == "Times"
    assert "time to claim  1" in (embed.description or "")


async def test_create_lead_is_a_button_when_offered() -> None:
    assert _custom_ids(ui.alert_view(7, lead=True))[-1] == "crm:lead:7"
    assert "crm:lead:7" not in _custom_ids(ui.alert_view(7))
    assert "crm:lead:7" in _custom_ids(ui.alert_view(7, "claimed", lead=True))
    assert any(
        item.__discord_ui_compiled_template__.fullmatch("crm:lead:7") for item in ui.DYNAMIC_ITEMS
    )
