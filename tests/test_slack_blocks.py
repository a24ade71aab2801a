"""Block Kit layouts stay inside Slack's limits whatever the text, and say what matters."""

from __future__ import annotations

import html
import random

import pytest
from slack_sdk.models.blocks import Block

from bot.chat.slack.blocks import alert_blocks, digest_blocks, followup_blocks, status_blocks
from bot.chat.slack.mrkdwn import clip, link, quote, units
from bot.chat.slack.replies import reply_blocks
from handlers.cards import AlertCard, DigestCard, FollowUpCard, StatusCard
from handlers.replies import Reply, Table
from tests.fakes.slack_api import block_text

ALPHABET = "ab &<>\n🚀é`*"


def _valid(blocks: list[Block]) -> list[dict]:  # type: ignore[type-arg]
    dicts = [b.to_dict() for b in blocks]  # to_dict validates every element
    assert len(dicts) <= 50
    for parsed in Block.parse_all(dicts):
        assert parsed is not None
        parsed.validate_json()
    return dicts


@pytest.mark.parametrize("seed", range(20))
def test_clip_and_quote_fit_and_never_cut_an_escape(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400)))
    limit = rng.randint(5, 300)
    for out in (clip(text, limit), quote(text, limit)):
        assert units(out) <= limit
        assert "<" not in out.replace("&lt;", "")
        body = out.removesuffix("…")
        assert not body.endswith(("&", "&a", "&am", "&amp", "&l", "&lt", "&g", "&gt"))
    assert html.unescape(clip(text, 10_000)) == text


def test_links_that_could_break_markup_are_shown_as_text() -> None:
    assert link("https://x.test/a?b=1&c=2", "View") == "<https://x.test/a?b=1&amp;c=2|View>"
    assert link("javascript:alert(1)", "View") == "javascript:alert(1)"
    assert link("https://x.test/a|<!channel>", "View") == "https://x.test/a|&lt;!channel&gt;"


def test_crm_alert_names_the_contact_not_followers() -> None:
    card = AlertCard(
        conversation_id=7,
        source="hubspot",
        platform="crm",
        text="Renewal moved to negotiation · amount: $12,000",
        author_name="Dana Lee",
        contact="Dana Lee <dana@corp.test> · Corp Inc · deal Renewal (negotiation)",
        severity="normal",
        rule="deals",
    )
    shown = html.unescape(block_text(_valid(alert_blocks(card))))
    assert "*Contact*\nDana Lee" in shown and "*From*\nhubspot" in shown
    assert "followers" not in shown
    assert "*CRM:* Dana Lee <dana@corp.test> · Corp Inc" in shown


def test_escalated_alert_says_why_on_top() -> None:
    card = AlertCard(
        conversation_id=3, platform="twitter", text="down", escalation="Unclaimed for 15m"
    )
    blocks = _valid(alert_blocks(card))
    assert blocks[1]["text"]["text"] == ":rotating_light: *Unclaimed for 15m*"


def test_status_without_the_alert_still_offers_the_right_buttons() -> None:
    card = StatusCard(conversation_id=4, status="resolved", line="resolved by @ana")
    blocks = _valid(status_blocks(card))
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["crm_reopen"]


def test_reopened_followup_says_so() -> None:
    card = FollowUpCard(conversation_id=5, author_handle="jroe", text="again!", reopened=True)
    shown = block_text(_valid(followup_blocks(card)))
    assert shown.startswith(":arrows_counterclockwise: *Reopened* by a new message")


def test_digest_lists_claimable_items_and_counts_the_rest() -> None:
    items = tuple(
        {
            "conversation_id": n,
            "severity": "high",
            "who": f"@u{n}",
            "title": f"down {n}",
            "url": None,
        }
        for n in range(1, 11)
    )
    card = DigestCard(
        conversation_id=None, reason="burst", total=14, items=items, counts={"high": 14}
    )
    blocks = _valid(digest_blocks(card))
    claims = [b["accessory"]["value"] for b in blocks if "accessory" in b]
    assert claims == [str(n) for n in range(1, 11)]
    assert "… and 4 more: `/crm queue` · 14 high" in block_text(blocks)


def test_huge_reply_is_cut_at_fifty_blocks_and_says_so() -> None:
    rows = tuple((f"#{n}", "x" * 200, "y`y\nz") for n in range(3000))
    reply = Reply(text="big", tables=(Table("Queue", ("id", "what", "note"), rows),) * 3)
    blocks = _valid(reply_blocks(reply))
    assert len(blocks) == 50
    assert "more parts not shown" in blocks[-1]["elements"][0]["text"]
    first_table = blocks[2]["text"]["text"]
    assert first_table.startswith("```\nid") and "y'y z" in first_table


def test_followup_digest_has_no_claim_buttons() -> None:
    items = ({"conversation_id": 2, "severity": "follow-up", "who": "@jroe", "title": "again"},)
    card = DigestCard(
        conversation_id=None, reason="3 follow-ups in 1 conversations; burst", total=3, items=items
    )
    blocks = _valid(digest_blocks(card))
    assert not any("accessory" in b for b in blocks)
    assert block_text(blocks).startswith(":speech_balloon: 3 follow-ups in 1 conversations")


def test_create_lead_is_offered_when_a_crm_is_and_its_press_is_the_lead_action() -> None:
    from bot.chat.slack.inbound import action_from
    from handlers.events import Actor

    card = AlertCard(conversation_id=5, platform="mastodon", text="hi", lead=True)
    social = _valid(alert_blocks(card))
    without = _valid(alert_blocks(AlertCard(conversation_id=6, platform="mastodon", text="hi")))
    buttons = {e["action_id"]: e for e in social[-1]["elements"]}
    assert buttons["crm_lead"]["text"]["text"] == "Create lead"
    assert "crm_lead" not in {e["action_id"] for e in without[-1]["elements"]}
    body = {"actions": [{"action_id": "crm_lead", "value": "5", "block_id": "crm:5"}]}
    action = action_from(body, Actor("slack", "U1"))
    assert (action.name, action.conversation_id) == ("lead", 5)
