"""The benchmarks keep working as the code changes (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks import burst, ingest, rules
from benchmarks.common import keyword_rules_toml, mentions
from bot.config_loader import load_config_text


def test_benchmark_configs_are_valid() -> None:
    config = load_config_text(keyword_rules_toml(50))
    assert len(config.rules) == 50 and len(config.routes) == 10
    assert len(rules.ruleset_for(rules.rule_keywords(20)).rules) == 20


def test_ingest_paths_run(tmp_path: Path) -> None:
    events = mentions(300)
    assert ingest.full_path(events, tmp_path, rules=100) > 0
    assert ingest.ceiling(events, tmp_path) > 0


def test_burst_accounts_for_every_mention(tmp_path: Path) -> None:
    over, unaccounted, posts = asyncio.run(burst.run(mentions(600, authors=200), tmp_path))
    assert (over, unaccounted) == (0, 0) and posts > 0


def test_the_sentiment_evaluation_set_is_well_formed() -> None:
    from benchmarks import sentiment

    rows = sentiment.load()
    assert len(rows) >= 320
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"negative", "neutral", "positive"}
    kinds = {"complaint", "praise", "sarcasm", "question", "buying", "review", "outage"}
    assert kinds | {"crm_ticket", "other"} >= {r["kind"] for r in rows} >= kinds
    assert {"en", "de", "fr", "es"} <= {r["lang"] for r in rows}
    holdout = sentiment.load("holdout")
    assert 0.3 <= len(holdout) / len(rows) <= 0.4
    assert 0 <= sentiment.agreement(holdout, lambda text, lang: 0.0) <= 1
