"""`[retention]`: the daily job erases and deletes by age, never a waiting message."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.chat.base import DeliveryError
from bot.config_loader import ConfigError, load_config_text
from handlers.config import RetentionConfig
from handlers.retention import apply_retention
from storage import crm as crm_store
from storage.audit import AuditEntry
from storage.crm import CrmEnrichment
from storage.ingest_sql import table
from storage.models import Mention, Outbox, Staff
from storage.privacy import ERASED
from storage.replies import SocialReply
from tests.conftest import TEST_CONFIG, BotHarness, mention

POLICY = RetentionConfig.model_validate({"mentions": "180d", "outbox": "30d"})


def _rows(h: BotHarness, *columns: object) -> list[tuple[object, ...]]:
    with h.bot.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).order_by(columns[0]))]  # type: ignore[call-overload]


async def test_old_data_goes_and_counts_stay(harness: BotHarness) -> None:
    h = harness
    h.bot.ingest([mention("the app is down, my card 4242 was charged", author_handle="old")])
    await h.deliver()
    h.clock.advance(days=100)
    h.adapter.failures.extend([DeliveryError("Slack: unreachable")] * 10)
    h.bot.ingest([mention("still down for me", author_handle="waiting")])
    await h.deliver()  # fails: this alert stays pending
    h.clock.advance(days=85)
    h.bot.ingest([mention("down here too, fresh", author_handle="fresh")])
    before = h.say("metrics 365d")

    changed = apply_retention(h.bot.db, POLICY, h.clock.now())

    assert changed == {"mentions": 1, "conversation_titles": 1, "outbox": 1}
    assert _rows(h, Mention.id, Mention.text) == [
        (1, "[erased]"),
        (2, "still down for me"),
        (3, "down here too, fresh"),
    ]
    statuses = _rows(h, Outbox.id, Outbox.status)
    assert [s for _, s in statuses] == ["pending", "pending"]  # the 100-day-old one is kept
    assert h.say("metrics 365d") == before
    assert h.say("show 1").startswith("#1 [open, unclaimed, high] [erased]")
    with h.bot.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 1
    # a second run finds nothing more to do and audits nothing
    assert not any(apply_retention(h.bot.db, POLICY, h.clock.now()).values())


def test_retention_config_is_validated() -> None:
    config = load_config_text(
        TEST_CONFIG + '\n[retention]\nmentions = "180d"\noutbox = "30d"\n', "t"
    )
    assert config.retention.mentions is not None and config.retention.mentions.days == 180
    with pytest.raises(ConfigError) as typo:
        load_config_text(TEST_CONFIG + '\n[retention]\nmention = "180d"\n', "t")
    assert any("retention.mention" in p for p in typo.value.problems)
    with pytest.raises(ConfigError) as short:
        load_config_text(TEST_CONFIG + '\n[retention]\noutbox = "30m"\n', "t")
    assert any("at least 1d" in p for p in short.value.problems)


def test_finished_replies_lose_their_text_and_waiting_ones_keep_it(harness: BotHarness) -> None:
    h = harness
    h.bot.ingest([mention("the app is down", author_handle="kim")])
    written = h.clock.now()
    with h.bot.db.session() as session:
        staff = Staff(name="replier-ana", created_at=written)
        session.add(staff)
        session.flush()
        staff_id = staff.id
        assert staff_id is not None
        for n, state in enumerate(["published", "rejected", "failed", "awaiting", "queued"]):
            session.add(
                SocialReply(
                    conversation_id=1,
                    mention_id=1,
                    source="masto",
                    source_kind="mastodon",
                    platform="mastodon",
                    text=f"Sorry Kim, we are on it ({state})",
                    state=state,
                    author_id=staff_id,
                    key=f"r{n}",
                    url="https://social.example/@acme/1" if state == "published" else None,
                    created_at=written,
                )
            )
    h.clock.advance(days=181)
    policy = RetentionConfig.model_validate({"replies": "180d"})

    assert apply_retention(h.bot.db, policy, h.clock.now()) == {"replies": 3}

    texts = _rows(h, SocialReply.id, SocialReply.state, SocialReply.text, SocialReply.url)
    assert texts == [
        (1, "published", ERASED, "https://social.example/@acme/1"),
        (2, "rejected", ERASED, None),
        (3, "failed", ERASED, None),
        (4, "awaiting", "Sorry Kim, we are on it (awaiting)", None),
        (5, "queued", "Sorry Kim, we are on it (queued)", None),
    ]
    assert apply_retention(h.bot.db, policy, h.clock.now()) == {"replies": 0}


def test_finished_crm_reads_go_with_the_crm_events_and_pending_ones_stay(
    harness: BotHarness,
) -> None:
    h = harness
    queued = [
        {"source": "hubspot", "external_id": f"e{n}", "object_type": "deal", "object_id": str(n)}
        for n in range(3)
    ]
    with h.bot.db.transaction() as conn:
        crm_store.queue_enrichments(conn, queued, h.clock.now())
        q = table(CrmEnrichment)
        ids = list(conn.execute(select(q.c.id).order_by(q.c.id)).scalars())
        crm_store.finish(conn, ids[0], h.clock.now())
        crm_store.finish(conn, ids[1], h.clock.now(), error="deal 1 is gone")
    h.clock.advance(days=366)
    policy = RetentionConfig.model_validate({"crm_events": "365d"})

    assert apply_retention(h.bot.db, policy, h.clock.now()) == {
        "crm_events": 0,
        "crm_enrichments": 2,
    }
    assert _rows(h, CrmEnrichment.id, CrmEnrichment.status) == [(ids[2], "pending")]
