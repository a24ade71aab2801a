"""sentiment_agreement (BENCHMARKS.md): labels vs hand labels on the labelled support set.

``benchmarks/data/sentiment_eval.jsonl`` holds realistic mentions about the demo's
product, hand-labelled before the labeller was tuned. The labeller was tuned on the
``dev`` split only; ``sentiment_agreement`` is measured on the ``holdout`` split kept
aside. Plain VADER (what crmbot used before) is measured on the same holdout in the same
run, and so is the per-text cost of both.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from benchmarks.common import emit
from handlers.sentiment import SentimentScorer, label

DATA = Path(__file__).with_name("data") / "sentiment_eval.jsonl"


def load(split: str | None = None) -> list[dict[str, str]]:
    """The labelled rows (of one split, or all)."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if split is None or r["split"] == split]


def agreement(rows: list[dict[str, str]], score: Callable[[str, str | None], float]) -> float:
    """Share of rows whose label equals the hand label."""
    return sum(label(score(r["text"], r.get("lang"))) == r["label"] for r in rows) / len(rows)


def per_text_us(rows: list[dict[str, str]], score: Callable[[str, str | None], float]) -> float:
    """Microseconds per text, best of three passes."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        for row in rows:
            score(row["text"], row.get("lang"))
        best = min(best, time.perf_counter() - began)
    return best / len(rows) * 1e6


def main(quick: bool = False) -> None:
    scorer = SentimentScorer(workers=0)
    vader = SentimentIntensityAnalyzer()

    def offline(text: str, lang: str | None) -> float:
        return scorer.score(text, lang)

    def plain_vader(text: str, lang: str | None) -> float:
        return float(vader.polarity_scores(text)["compound"])

    holdout, dev, everything = load("holdout"), load("dev"), load()
    emit(
        "sentiment_agreement",
        agreement(holdout, offline),
        "share",
        ">= 0.85",
        split="holdout",
        texts=len(holdout),
    )
    emit(
        "sentiment_agreement_dev",
        agreement(dev, offline),
        "share",
        "info",
        texts=len(dev),
        split="dev (tuned on)",
    )
    emit(
        "sentiment_agreement_vader_baseline",
        agreement(holdout, plain_vader),
        "share",
        "baseline",
        split="holdout",
    )
    sample = everything[:100] if quick else everything
    ours, theirs = per_text_us(sample, offline), per_text_us(sample, plain_vader)
    emit("sentiment_us_per_text", ours, "us", "<= sentiment_vader_us_per_text", texts=len(sample))
    emit("sentiment_vader_us_per_text", theirs, "us", "baseline", texts=len(sample))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
