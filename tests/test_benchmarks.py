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


def test_fuzz_benchmark_config_and_bodies() -> None:
    import random

    from benchmarks import fuzz

    load_config_text(fuzz.CONFIG)
    rng = random.Random(1)
    bodies = {fuzz.mutate(rng, fuzz.MENTION, n) for n in range(50)}
    assert len(bodies) == 50
