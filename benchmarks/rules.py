"""rules_cost_growth_10_to_10000 and rules_speedup_vs_regex_1000 (BENCHMARKS.md).

Per-mention matching cost of the compiled ruleset (one Aho-Corasick automaton over all
rules' terms, then only the rules whose terms occur) with 10 and with 10,000 keyword
rules; and, at 1,000 rules, against the obvious alternative measured on the same texts
in the same run: a loop over one compiled, case-insensitive, whole-word regex per rule.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable

from benchmarks.common import emit, mention_texts
from bot.config_loader import load_config_text
from handlers.rules import Ruleset, Subject, compile_rules

VOCABULARY = [
    f"{stem}{n}" for stem in ("acme", "photo", "sync", "plan", "team", "app") for n in range(3000)
]


def rule_keywords(count: int, seed: int = 5) -> list[list[str]]:
    rng = random.Random(seed)
    return [rng.sample(VOCABULARY, 3) for _ in range(count)]


def ruleset_for(keywords: list[list[str]]) -> Ruleset:
    lines = ['[alerts]\ndefault_channel = "c"\n[channels.c]\n']
    for i, words in enumerate(keywords):
        quoted = ", ".join(f'"{w}"' for w in words)
        lines.append(f'[[rules]]\nname = "r{i}"\nkeywords = [{quoted}]\n')
    return compile_rules(load_config_text("".join(lines)))


def texts(n: int, seed: int = 9) -> list[str]:
    """Social-length texts; one in five carries a rule keyword, as real streams do."""
    rng = random.Random(seed)
    out = []
    for text in mention_texts(n, seed):
        if rng.random() < 0.2:
            text += f" {rng.choice(VOCABULARY[:300])}"
        out.append(text)
    return out


def per_mention(fn: Callable[[str], None], items: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - began) / len(items))
    return best


def main(quick: bool = False) -> None:
    sample = texts(2_000 if quick else 10_000)
    costs = {}
    for count in (10, 1_000, 10_000):
        ruleset = ruleset_for(rule_keywords(count))

        def match(text: str, ruleset: Ruleset = ruleset) -> None:
            ruleset.matching(
                Subject(kind="mention", text=text, platform="twitter", source="twitter")
            )

        costs[count] = per_mention(match, sample)
    regexes = [
        re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        for words in rule_keywords(1_000)
    ]

    def regex_loop(text: str) -> None:
        for regex in regexes:
            regex.search(text)

    regex_cost = per_mention(regex_loop, sample[: len(sample) // 4])
    emit("rules_match_us_10", costs[10] * 1e6, "us", "info")
    emit("rules_match_us_10000", costs[10_000] * 1e6, "us", "info")
    emit("rules_cost_growth_10_to_10000", costs[10_000] / costs[10], "ratio", "<= 3")
    emit("rules_regex_loop_us_1000", regex_cost * 1e6, "us", "baseline")
    emit("rules_speedup_vs_regex_1000", regex_cost / costs[1_000], "ratio", ">= 100")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
