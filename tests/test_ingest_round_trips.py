"""The ingest path sends one statement per step for a whole batch, on SQLite and
PostgreSQL alike: its round trips do not grow with the batch (what makes webhooks and
bulk ingest fast on a database across the network), and what it stores is the same."""

from __future__ import annotations

from sqlalchemy import func, select

from benchmarks.common import keyword_rules_toml, mentions
from benchmarks.ingest import StatementCounter
from bot.config_loader import load_config_text
from handlers.clock import FakeClock
from handlers.delivery import Destination
from handlers.events import Mention as MentionEvent
from handlers.ingest import Ingestor
from handlers.rules import compile_rules
from storage import migrate
from storage.db import Database
from storage.ingest_sql import table
from storage.models import Author, Mention, Outbox

_SEEN: dict[str, list[MentionEvent]] = {}


def _ingestor(db: Database) -> Ingestor:
    ruleset = compile_rules(load_config_text(keyword_rules_toml(30)))
    return Ingestor(
        db, lambda: ruleset, lambda channel: [Destination("console", channel)], FakeClock()
    )


def _count(db: Database, model: object) -> int:
    with db.transaction() as conn:
        return int(conn.execute(select(func.count()).select_from(table(model))).scalar_one())


def _round_trips(url: str, events: list[MentionEvent]) -> tuple[int, int, int]:
    """Round trips of a batch of new authors and conversations, one that continues
    them, and one of duplicates; checks what they stored."""
    db = Database(url)
    migrate.upgrade(db)
    seen = _SEEN.setdefault(url, [])
    ingestor = _ingestor(db)
    size = len(events) // 2
    counter = StatementCounter(db)
    trips = []
    try:
        first = ingestor.ingest(events[:size])  # new authors and conversations
        trips.append(counter.count)
        second = ingestor.ingest(events[size:])  # known authors, threads continued
        trips.append(counter.count - sum(trips))
        again = ingestor.ingest(events)
        trips.append(counter.count - sum(trips))
        assert first.stored == size and second.stored == size and again.duplicates == 2 * size
        stored = _count(db, Mention)
        assert stored == len({(e.source, e.external_id) for e in seen + events})
        assert _count(db, Author) == len({(e.platform, e.author_handle) for e in seen + events})
        assert _count(db, Outbox) > 0
    finally:
        ingestor.close()
        db.dispose()
    seen.extend(events)
    return trips[0], trips[1], trips[2]


def test_round_trips_per_batch_do_not_grow_with_the_batch(database_url: str) -> None:
    events = mentions(880, authors=300)
    small = _round_trips(database_url, events[:80])
    large = _round_trips(database_url, events[80:])
    # ten times the rows, no more round trips (each step is one statement for the batch)
    assert max(large) <= max(small)
    if "postgresql" in database_url:  # (SQLite splits long IN lists: no round trip there)
        assert small[2] == large[2] == 3  # duplicates: BEGIN, one lookup statement, COMMIT
