"""`crmbot replay --dry-run` routes a stored mention as live ingest did: both build the
rule subject with :func:`handlers.rules.subject_of`."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlmodel import select

from handlers.replay import replay
from storage.mentions import mentions_since
from storage.models import Conversation
from tests.conftest import TEST_CONFIG, BotHarness, make_config, mention

DAY = timedelta(days=1)


REPLAY_CONFIG = (
    TEST_CONFIG
    + """
[vip]
handles = ["ceo_jane"]

[channels.exec]

[[rules]]
name = "vip"
vip = true
labels = { team = "exec" }

[[rules]]
name = "influencer"
min_influence = 80
labels = { team = "exec" }

[[routes]]
match = { team = "exec" }
channel = "exec"
"""
)


def test_replay_routes_a_stored_mention_where_live_ingest_sent_it(
    harness: BotHarness,
) -> None:
    harness.bot.apply_config(make_config(REPLAY_CONFIG))
    harness.bot.ingest(
        [
            mention("hello", author_handle="@CEO_Jane"),
            mention("hi there", author_followers=2_000_000),
            mention("is it down?"),
            mention("our pricing page"),
            mention("nice"),
        ]
    )
    with harness.bot.db.session() as session:
        live = Counter(c for conv in session.exec(select(Conversation)) for c in conv.channels)
    assert live == Counter({"exec": 2, "support": 1, "sales": 1, "social": 1})
    with harness.bot.db.engine.connect() as conn:
        dry = replay(harness.bot.rules.get(), mentions_since(conn, harness.clock.now() - DAY))
    assert dry.by_channel == live
