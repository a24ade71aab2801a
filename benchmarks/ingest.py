"""ingest_mentions_per_s, ingest_ceiling_ratio and ingest_mentions_per_s_postgres
(BENCHMARKS.md).

The full ingest path (dedupe, offline sentiment, influence, threading, 1,000 keyword rules,
conversation + cycle + mention + outbox rows, one transaction per batch) into an SQLite
file, against a ceiling measured in the same run on the same rows: VADER alone plus a
raw sqlite3 executemany of the mention rows; the two alternate for three rounds and the
figures are the rounds' medians. Then the same path on PostgreSQL, in a
private schema on ``TEST_DATABASE_URL`` (default the local test database) created and
dropped by the benchmark. Both also report the round trips per batch (statements, BEGIN
and COMMIT; an executemany counts once), which, unlike the rates, do not move with the
machine's load.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from benchmarks.common import emit, keyword_rules_toml, mentions, private_pg_schema
from bot import process_tuning
from bot.config_loader import load_config_text
from handlers.clock import SystemClock
from handlers.delivery import Destination
from handlers.events import Mention
from handlers.ingest import Ingestor
from handlers.rules import compile_rules
from storage import migrate
from storage.db import Database

BATCH = 1000
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class StatementCounter:
    """Counts the statements a database engine sends (an executemany counts once), BEGIN
    and COMMIT included: the round trips of the ingest path, which do not move with the
    machine's load."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        for name in ("before_cursor_execute", "begin", "commit"):
            event.listen(db.engine, name, self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def full_path(
    events: list[Mention],
    workdir: Path,
    rules: int,
    url: str | None = None,
    batch: int = BATCH,
) -> tuple[float, float]:
    """Seconds to ingest ``events`` in batches of ``batch`` (into ``url``, else an SQLite
    file in ``workdir``), and the statements sent per batch (commit included)."""
    db = Database(url or f"sqlite:///{workdir / 'ingest.db'}")
    migrate.upgrade(db)
    ruleset = compile_rules(load_config_text(keyword_rules_toml(rules)))
    ingestor = Ingestor(
        db, lambda: ruleset, lambda channel: [Destination("console", channel)], SystemClock()
    )
    ingestor.warm_up()
    counter = StatementCounter(db)
    began = time.perf_counter()
    for start in range(0, len(events), batch):
        ingestor.ingest(events[start : start + batch])
    elapsed = time.perf_counter() - began
    batches = -(-len(events) // batch)
    ingestor.close()
    db.dispose()
    return elapsed, counter.count / batches


def ceiling(events: list[Mention], workdir: Path) -> float:
    vader = SentimentIntensityAnalyzer()
    conn = sqlite3.connect(workdir / "ceiling.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE mention (id INTEGER PRIMARY KEY, source TEXT, external_id TEXT, platform TEXT,"
        " author TEXT, text TEXT, url TEXT, sentiment REAL, posted_at TEXT, UNIQUE(source, external_id))"
    )
    began = time.perf_counter()
    for start in range(0, len(events), BATCH):
        rows = [
            (
                e.source,
                e.external_id,
                e.platform,
                e.author_handle,
                e.text,
                e.url,
                vader.polarity_scores(e.text)["compound"],
                e.posted_at.isoformat(),
            )
            for e in events[start : start + BATCH]
        ]
        with conn:
            conn.executemany(
                "INSERT INTO mention (source, external_id, platform, author, text, url, sentiment,"
                " posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def main(quick: bool = False) -> None:
    n = 5_000 if quick else 30_000
    rounds = 1 if quick else 3
    events = mentions(n)
    # the interpreter paced as `crmbot run` paces it once started (bot/process_tuning.py),
    # for the ceiling and the full path alike
    process_tuning.settle()
    # The ceiling and the full path alternate, each round on fresh files: the ratio is
    # the median of the rounds' ratios, each taken from two runs seconds apart, so a burst
    # of load from elsewhere on the machine moves one round, not the figure.
    ceilings: list[float] = []
    fulls: list[float] = []
    statements = 0.0
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            ceilings.append(n / ceiling(events, workdir))
            full_s, statements = full_path(events, workdir, rules=1_000)
            fulls.append(n / full_s)
    ratio = statistics.median(f / c for f, c in zip(fulls, ceilings, strict=True))
    rate = statistics.median(fulls)
    emit(
        "ingest_mentions_per_s",
        rate,
        "1/s",
        ">= 5000",
        mentions=n,
        rules=1000,
        batch=BATCH,
        rounds=rounds,
    )
    emit(
        "ingest_ceiling_mentions_per_s",
        statistics.median(ceilings),
        "1/s",
        "baseline",
        mentions=n,
        rounds=rounds,
    )
    emit("ingest_ceiling_ratio", ratio, "ratio", ">= 0.6", rounds=rounds)
    emit("ingest_round_trips_per_batch", statements, "statements", "info", batch=BATCH)
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    with tempfile.TemporaryDirectory() as tmp, private_pg_schema(base, "ingest") as url:
        pg_s, pg_statements = full_path(events, Path(tmp), rules=1_000, url=url)
    emit("ingest_mentions_per_s_postgres", n / pg_s, "1/s", ">= 4000", mentions=n, batch=BATCH)
    emit("ingest_round_trips_per_batch_postgres", pg_statements, "statements", "info")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
