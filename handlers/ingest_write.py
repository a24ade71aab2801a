"""Ingest stage 4, rows and rollups: the batch's conversations, cycles, events and changes.

New conversations (with their first cycle), the mention and CRM event rows, reopened
cycles (with a ``reopened`` handling event), the day's cycle counts in the metric
rollups, and new counts, activity times and sentiment of the conversations continued.
Each kind of row is one statement for the whole batch (storage/ingest_sql.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from handlers.crm_enrich import enrichment_rows
from handlers.events import CrmEvent, Mention
from handlers.ingest_items import IngestResult, Item, title_of, touched_convs
from storage import crm as crm_store
from storage import ingest_sql as sql
from storage import rollups
from storage.ingest_rows import (
    ConversationBump,
    ConversationReopen,
    NewConversation,
    NewCrmEvent,
    NewCycle,
    NewHandlingEvent,
    NewMention,
)
from storage.models import Conversation, Cycle, HandlingEvent
from storage.models import CrmEvent as CrmEventRow
from storage.models import Mention as MentionRow


class BatchWriter:
    """Writes one batch's rows; counts opened, reopened and threaded per group."""

    def __init__(
        self,
        conn: Connection,
        results: list[IngestResult],
        now: datetime,
        enrich_source: str | None,
    ) -> None:
        self.conn = conn
        self.results = results
        self.now = now
        self.enrich_source = enrich_source

    def write(self, items: list[Item]) -> None:
        """Store everything the items need, but the outbox rows (handlers/ingest_cards.py)."""
        opening = [i for i in items if i.opens is not None]
        reopening = [i for i in items if i.reopens]
        self.insert_conversations(opening)
        self.insert_events(items)
        self.reopen(reopening)
        rollups.count_cycles(
            self.conn,
            rollups.day_of(self.now),
            cycles=len(opening) + len(reopening),
            conversations=len(opening),
        )
        sql.bump_conversations(
            self.conn,
            [
                ConversationBump(
                    id=c.id,
                    mention_count=c.mention_count,
                    last_activity_at=c.last_at or self.now,
                    sentiment=c.sentiment,
                    sentiment_by=c.sentiment_by,
                )
                for c in touched_convs(items)
                if c.touched and not c.new and c.id is not None
            ],
        )

    def insert_conversations(self, opening: list[Item]) -> None:
        """The conversations the items open, and their first cycles; sets their ids."""
        rows: list[NewConversation] = []
        for item in opening:
            assert item.opens is not None and item.conv is not None
            event = item.event
            rows.append(
                NewConversation(
                    key=item.conv.key,
                    kind="mention" if isinstance(event, Mention) else "crm",
                    source=event.source,
                    platform=event.platform if isinstance(event, Mention) else "crm",
                    author_id=item.author_id,
                    contact_id=item.contact_id,
                    status="open",
                    severity=item.opens.severity,
                    rule=item.opens.rule,
                    team=item.opens.team,
                    channels=list(item.opens.channels),
                    labels=item.opens.labels,
                    cycle=1,
                    mention_count=item.conv.mention_count,
                    sentiment=item.conv.sentiment,
                    title=title_of(event),
                    created_at=self.now,
                    last_activity_at=self.now,
                )
            )
        ids = sql.insert_returning_ids(self.conn, Conversation, rows, key=("key",))
        for item, conv_id in zip(opening, ids, strict=True):
            assert item.conv is not None
            item.conv.id = conv_id
            self.results[item.owner].opened.append(conv_id)
        cycles: list[NewCycle] = [
            NewCycle(
                conversation_id=i.conv.id,
                n=1,
                source=i.conv.source,
                severity=i.conv.severity,
                team=i.conv.team,
                received_at=self.now,
            )
            for i in opening
            if i.conv is not None and i.conv.id is not None
        ]
        sql.insert_many(self.conn, Cycle, cycles)

    def insert_events(self, items: list[Item]) -> None:
        """The mention and CRM event rows (and the CRM objects to read afterwards)."""
        mentions: list[NewMention] = []
        crm: list[NewCrmEvent] = []
        for item in items:
            conv_id = item.conv.id if item.conv is not None else None
            event = item.event
            if isinstance(event, Mention):
                mentions.append(
                    NewMention(
                        source=event.source,
                        external_id=event.external_id,
                        platform=event.platform,
                        author_id=item.author_id,
                        conversation_id=conv_id,
                        thread_key=event.thread_key,
                        text=event.text,
                        url=event.url,
                        lang=event.lang,
                        sentiment=item.sentiment,
                        posted_at=event.posted_at,
                        received_at=self.now,
                        reply_ref=dict(event.reply_ref) or None,
                    )
                )
            else:
                crm.append(
                    NewCrmEvent(
                        source=event.source,
                        external_id=event.external_id,
                        kind=event.kind,
                        object_id=event.object_id,
                        contact_id=item.contact_id,
                        conversation_id=conv_id,
                        summary=event.summary,
                        amount=event.amount,
                        stage=event.stage,
                        previous_stage=event.previous_stage,
                        properties=event.properties,
                        occurred_at=event.occurred_at,
                        received_at=self.now,
                    )
                )
            if item.conv is not None and item.opens is None:
                self.results[item.owner].threaded += 1
        sql.insert_many(self.conn, MentionRow, mentions)
        sql.insert_many(self.conn, CrmEventRow, crm)
        if self.enrich_source is not None and crm:
            events = [i.event for i in items if isinstance(i.event, CrmEvent)]
            rows = enrichment_rows(events, self.enrich_source)
            crm_store.queue_enrichments(self.conn, rows, self.now)
            self.results[0].enrichments += len(rows)

    def reopen(self, reopening: list[Item]) -> None:
        """A new cycle and a ``reopened`` handling event per reopened conversation."""
        if not reopening:
            return
        cycles: list[NewCycle] = []
        handling: list[NewHandlingEvent] = []
        previous = sql.cycles_received(
            self.conn, [(i.conv.id, i.conv.cycle - 1) for i in reopening if i.conv and i.conv.id]
        )
        changes: list[ConversationReopen] = []
        for item in reopening:
            conv = item.conv
            assert conv is not None and conv.id is not None
            self.results[item.owner].reopened.append(conv.id)
            cycles.append(
                NewCycle(
                    conversation_id=conv.id,
                    n=conv.cycle,
                    source=conv.source,
                    severity=conv.severity,
                    team=conv.team,
                    received_at=self.now,
                    previous_received_at=previous.get((conv.id, conv.cycle - 1)),
                    alerted_at=self.now,
                )
            )
            handling.append(
                NewHandlingEvent(
                    conversation_id=conv.id,
                    cycle=conv.cycle,
                    kind="reopened",
                    actor_id=None,
                    at=self.now,
                    detail={"by": "new message", "source": item.event.source},
                )
            )
            changes.append(ConversationReopen(id=conv.id, cycle=conv.cycle))
        sql.insert_many(self.conn, Cycle, cycles)
        sql.insert_many(self.conn, HandlingEvent, handling)
        sql.reopen_conversations(self.conn, changes)
