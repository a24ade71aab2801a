"""The one ingest path: a batch of neutral events in, conversations and outbox rows out.

Everything for a batch happens in ONE database transaction, in stages, each in its own
module: dedupe by (source, external_id) (handlers/ingest_dedupe.py), enrichment:
sentiment, influence, authors and CRM contacts (handlers/ingest_authors.py), threading
into the open conversation of the same thread and rule routing
(handlers/ingest_threading.py), the rows and rollups (handlers/ingest_write.py), and the
cards queued in the outbox for the dispatcher (handlers/ingest_cards.py). If anything
fails, nothing of the batch is written, and the caller may retry the batch as a whole
(deduplication makes the retry safe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from handlers.clock import Clock
from handlers.delivery import DestinationResolver
from handlers.events import CrmEvent, InboundEvent, Mention
from handlers.ingest_authors import resolve_authors, upsert_contact
from handlers.ingest_cards import CardQueue
from handlers.ingest_dedupe import dedupe
from handlers.ingest_items import IngestResult
from handlers.ingest_threading import thread
from handlers.ingest_write import BatchWriter
from handlers.rules import Ruleset, subject_of
from handlers.sentiment import SentimentScorer
from handlers.spikes import record_counts
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["IngestResult", "Ingestor"]


class Ingestor:
    """Turns batches of neutral events into stored conversations and queued alerts."""

    def __init__(
        self,
        db: Database,
        ruleset: Callable[[], Ruleset],
        destinations: DestinationResolver,
        clock: Clock,
        scorer: SentimentScorer | None = None,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self._ruleset = ruleset
        self._destinations = destinations
        self._clock = clock
        self._scorer = scorer or SentimentScorer()
        self._on_queued = on_queued
        # the CRM source whose events carry only ids and are completed after ingest
        # (set when a CRM that can read is configured; handlers/crm_enrich.py)
        self.enrich_source: str | None = None
        self.offer_lead = False  # social alerts offer Create lead (a CRM is configured)

    def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """Store ``events`` in one transaction; returns what happened."""
        return self.ingest_groups([events])[0]

    def ingest_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store several requests' events as one batch in one transaction (one commit,
        one query per step for all of them); each group gets its own result, counted as
        if the groups had been stored one after the other (an event repeated in a later
        group is its duplicate). All or nothing: on failure nothing is stored and the
        error is raised."""
        batch = self._prepared()
        with self.db.transaction() as conn:
            results = batch(conn).run_groups(groups)
        if any(r.outbox_rows for r in results) and self._on_queued is not None:
            self._on_queued()
        return results

    def rehearse(self, events: Sequence[InboundEvent]) -> None:
        """Take ``events`` through every stage in a transaction that is rolled back:
        nothing is kept and nothing is queued (at start-up, so that the statements of the
        first real batch are compiled already: SQLAlchemy compiles each on first use, while
        the batch holds SQLite's write lock)."""
        batch = self._prepared()
        with self.db.scratch() as session:
            batch(session.connection()).run(events)

    def _prepared(self) -> Callable[[Connection], _Batch]:
        """The rules in force and the time now, read (and the scorer set to the rules'
        sentiment settings) before the transaction waits for the database; returns what
        makes the batch on the transaction's connection."""
        now = self._clock.now()
        ruleset = self._ruleset()
        self._scorer.configure(ruleset.config.sentiment)

        def batch(conn: Connection) -> _Batch:
            made = _Batch(conn, ruleset, self._destinations, self._scorer, now)
            made.enrich_source, made.offer_lead = self.enrich_source, self.offer_lead
            return made

        return batch

    def warm_up(self) -> None:
        """Start the sentiment worker processes (done at bot start, not on the first burst)."""
        self._scorer.warm_up()

    def close(self) -> None:
        """Release the sentiment worker processes."""
        self._scorer.close()


class _Batch:
    """One transaction's worth of events, taken through the stages."""

    def __init__(
        self,
        conn: Connection,
        ruleset: Ruleset,
        destinations: DestinationResolver,
        scorer: SentimentScorer,
        now: datetime,
    ) -> None:
        self.conn = conn
        self.ruleset = ruleset
        self.destinations = destinations
        self.scorer = scorer
        self.now = now
        self.enrich_source: str | None = None
        self.offer_lead = False

    def run(self, events: Sequence[InboundEvent]) -> IngestResult:
        return self.run_groups([events])[0]

    def run_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store all groups' events as one batch; one result per group."""
        results = [IngestResult(received=len(g)) for g in groups]
        events = [e for g in groups for e in g]
        owners = [n for n, g in enumerate(groups) for _ in g]
        # Sentiment of large batches starts on the other core(s) right away, while this
        # process deduplicates and resolves authors (the share balances itself: scorer.py).
        incoming = [e for e in events if isinstance(e, Mention)]
        pending = self.scorer.begin([m.text for m in incoming], langs=[m.lang for m in incoming])
        reopen_since = self.now - self.ruleset.config.alerts.reopen_window
        items, found = dedupe(self.conn, events, owners, reopen_since)
        for item in items:
            results[item.owner].stored += 1
        for result in results:
            result.duplicates = result.received - result.stored
        if not items:
            return results
        for item in items:
            if isinstance(item.event, CrmEvent):
                item.contact_id = upsert_contact(self.conn, item.event, self.now)
        scored = [i for i in items if isinstance(i.event, Mention)]
        resolve_authors(self.conn, scored, self.now, found)
        by_event = {id(m): s for m, s in zip(incoming, pending.result(), strict=True)}
        for item in scored:
            item.sentiment = by_event[id(item.event)]
        if self.ruleset.config.spikes:
            subjects = [subject_of(i.event, i.sentiment) for i in scored]
            record_counts(self.conn, self.ruleset, subjects, self.now)
        thread(self.ruleset, items, results, self.now, found.conversations)
        BatchWriter(self.conn, results, self.now, self.enrich_source).write(items)
        cards = CardQueue(self.conn, self.ruleset, self.destinations, self.now, self.offer_lead)
        cards.queue_all(items)
        results[0].outbox_rows = len(cards.rows)  # the batch's, on the first result
        return results
