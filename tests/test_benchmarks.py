"""The benchmarks keep working as the code changes: what they measure is checked (every
mention stored, none unaccounted), their figures are well formed and documented, and the
cheap ones run at a small size with loose bounds no healthy build misses."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest

from benchmarks import burst, ingest, rules
from benchmarks.common import emit, keyword_rules_toml, mentions
from benchmarks.run import BENCHMARKS
from bot.config_loader import load_config_text
from handlers.rules import Ruleset, Subject

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
GOAL = re.compile(r"^(info|baseline|0|[<>]= ?([\d.]+|[a-z_]+))$")


def emitted(module: str) -> list[tuple[str, str, str]]:
    """(figure, unit, goal) of every ``emit(...)`` call in a benchmark's source."""
    tree = ast.parse((BENCH / f"{module}.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit":
            figure, _value, unit, goal = node.args[:4]
            if isinstance(figure, ast.JoinedStr):  # f"crash_lost{suffix}": its fixed part
                name = "".join(str(v.value) for v in figure.values if isinstance(v, ast.Constant))
            else:
                assert isinstance(figure, ast.Constant)
                name = str(figure.value)
            assert isinstance(unit, ast.Constant) and isinstance(goal, ast.Constant)
            found.append((name, str(unit.value), str(goal.value)))
    return found


def test_benchmark_configs_are_valid() -> None:
    config = load_config_text(keyword_rules_toml(50))
    assert len(config.rules) == 50 and len(config.routes) == 10
    assert len(rules.ruleset_for(rules.rule_keywords(20)).rules) == 20


def test_every_benchmark_is_registered_and_its_figures_documented() -> None:
    modules = sorted(
        p.stem for p in BENCH.glob("*.py") if p.stem not in ("__init__", "common", "run")
    )
    assert sorted(m.removeprefix("benchmarks.") for m in BENCHMARKS) == modules
    readme = (BENCH / "README.md").read_text()
    for module in modules:
        figures = emitted(module)
        assert figures, f"{module} emits no figure"
        for figure, unit, goal in figures:
            assert re.fullmatch(r"[a-z0-9_]+", figure), figure
            assert unit, f"{figure} has no unit"
            assert GOAL.match(goal), f"{figure}: goal {goal!r}"
        documented = re.findall(rf"\| `{module}\.py` \| ([^|]+) \|", readme)
        assert documented, f"{module}.py is not in benchmarks/README.md"
        names = {f for f, _, _ in figures}
        for name in re.findall(r"`([a-z0-9_]+)`", documented[0]):
            assert name in names, f"README names {name}, which {module}.py does not emit"


def test_emit_prints_one_json_figure_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    emit("x_per_s", 1234.56789, "1/s", ">= 1000", mentions=10)
    emit("y_ms", 2.0, "ms", "<= 5")
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"figure": "x_per_s", "value": 1234.568, "unit": "1/s", "goal": ">= 1000", "mentions": 10},
        {"figure": "y_ms", "value": 2.0, "unit": "ms", "goal": "<= 5"},
    ]


def test_ingest_paths_store_every_mention(tmp_path: Path) -> None:
    events = mentions(300)
    full_s, round_trips = ingest.full_path(events, tmp_path, rules=100)
    ceiling_s = ingest.ceiling(events, tmp_path)
    with sqlite3.connect(tmp_path / "ingest.db") as conn:
        assert conn.execute("SELECT count(*) FROM mention").fetchone() == (300,)
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] > 0
    with sqlite3.connect(tmp_path / "ceiling.db") as conn:
        assert conn.execute("SELECT count(*) FROM mention").fetchone() == (300,)
    assert 0 < ceiling_s < 60 and 0 < full_s < 120
    assert round_trips < 40  # one statement per step for the whole batch


def test_rule_matching_cost_stays_flat_at_a_small_size() -> None:
    """The rules benchmark's two comparisons at a size a test can afford (10 vs 1,000
    rules; the regex loop at 300 rules), with bounds far looser than the goals (<= 3 and
    >= 100) that a matcher growing with the rule count, or losing to regexes, still misses."""
    sample = rules.texts(300)

    def cost(ruleset: Ruleset) -> float:
        def match(text: str) -> None:
            ruleset.matching(
                Subject(kind="mention", text=text, platform="twitter", source="twitter")
            )

        return rules.per_mention(match, sample)

    few, many = (cost(rules.ruleset_for(rules.rule_keywords(n))) for n in (10, 1_000))
    assert many / few < 20
    regexes = [
        re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        for words in rules.rule_keywords(300)
    ]

    def regex_loop(text: str) -> None:
        for regex in regexes:
            regex.search(text)

    assert rules.per_mention(regex_loop, sample[:100]) / many > 3


def test_burst_accounts_for_every_mention(tmp_path: Path) -> None:
    events = mentions(600, authors=200)
    over, unaccounted, posts = asyncio.run(burst.run(events, tmp_path))
    assert (over, unaccounted) == (0, 0)
    assert 0 < posts <= len(events)


def test_a_fault_storm_loses_no_alert(tmp_path: Path) -> None:
    from benchmarks import faults

    result = asyncio.run(faults.run(40, tmp_path, channels=4))
    assert (result.lost, result.dead) == (0, 0)
    assert result.posted == 40
    assert result.api_calls > 50  # the storm struck: many calls were answered 429 or 500


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


def test_fuzz_benchmark_config_and_bodies() -> None:
    import random

    from benchmarks import fuzz

    load_config_text(fuzz.CONFIG)
    rng = random.Random(1)
    bodies = {fuzz.mutate(rng, fuzz.MENTION, n) for n in range(50)}
    assert len(bodies) == 50
