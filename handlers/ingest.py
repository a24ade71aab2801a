"""The one ingest path: a batch of neutral events in, conversations and outbox rows out.

Everything for a batch happens in ONE database transaction: deduplication by
(source, external_id), enrichment (sentiment, influence, CRM contact), threading into
the open conversation of the same thread or author, rule matching, and the outbox rows
that the dispatcher will post. If anything fails, nothing of the batch is written, and
the caller may retry the batch as a whole (deduplication makes the retry safe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from handlers.cards import AlertCard, Card, FollowUpCard, StatusCard
from handlers.clock import Clock
from handlers.contacts import contact_line
from handlers.crm_enrich import enrichment_rows
from handlers.delivery import AlertTiming, DestinationResolver, alert_timing, outbox_rows
from handlers.events import CrmEvent, InboundEvent, Mention
from handlers.influence import influence
from handlers.inhibit import ActiveAlert, inhibitor, muted_timing
from handlers.routing import RouteDecision, decide, explain
from handlers.rules import Ruleset, subject_of
from handlers.sentiment import OFFLINE, SentimentScorer, label
from handlers.sentiment.cards import card_fields, restate, sets_mood
from handlers.spikes import record_counts
from storage import contacts as contact_store
from storage import crm as crm_store
from storage import ingest_sql as sql
from storage import rollups
from storage.db import Database
from storage.models import (
    Author,
    Conversation,
    Cycle,
    HandlingEvent,
    Outbox,
)
from storage.models import (
    CrmEvent as CrmEventRow,
)
from storage.models import (
    Mention as MentionRow,
)

log = logging.getLogger(__name__)

TITLE_LENGTH = 80


@dataclass(slots=True)
class IngestResult:
    """What a batch did, for logs, HTTP answers and tests."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    threaded: int = 0
    unrouted: int = 0
    outbox_rows: int = 0
    enrichments: int = 0  # CRM objects to read in the background (handlers/crm_enrich.py)


@dataclass(slots=True)
class _Conv:
    """A conversation as the batch sees it (existing or about to be created)."""

    id: int | None
    key: str
    cycle: int
    channels: list[str]
    mention_count: int
    source: str
    severity: str
    team: str | None
    status: str
    touched: bool = False
    new: bool = False
    last_at: datetime | None = None
    sentiment: float = 0.0
    sentiment_by: str = OFFLINE
    author_id: int | None = None
    shown: str | None = None  # the sentiment label its posted cards show (existing only)


@dataclass(slots=True)
class _Item:
    event: InboundEvent
    sentiment: float = 0.0
    author_id: int | None = None
    contact_id: int | None = None
    conv: _Conv | None = None
    opens: RouteDecision | None = None
    reopens: bool = False
    owner: int = 0  # which group (request) the event came in


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
        now = self._clock.now()
        ruleset = self._ruleset()
        self._scorer.configure(ruleset.config.sentiment)
        with self.db.transaction() as conn:
            batch = _Batch(conn, ruleset, self._destinations, self._scorer, now)
            batch.enrich_source, batch.offer_lead = self.enrich_source, self.offer_lead
            result = batch.run(events)
        if result.outbox_rows and self._on_queued is not None:
            self._on_queued()
        return result

    def ingest_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store several requests' events as one batch in one transaction (one commit,
        one query per step for all of them); each group gets its own result, counted as
        if the groups had been stored one after the other (an event repeated in a later
        group is its duplicate). All or nothing: on failure nothing is stored and the
        error is raised."""
        now = self._clock.now()
        ruleset = self._ruleset()
        self._scorer.configure(ruleset.config.sentiment)
        with self.db.transaction() as conn:
            batch = _Batch(conn, ruleset, self._destinations, self._scorer, now)
            batch.enrich_source, batch.offer_lead = self.enrich_source, self.offer_lead
            results = batch.run_groups(groups)
        if any(r.outbox_rows for r in results) and self._on_queued is not None:
            self._on_queued()
        return results

    def warm_up(self) -> None:
        """Start the sentiment worker processes (done at bot start, not on the first burst)."""
        self._scorer.warm_up()

    def close(self) -> None:
        """Release the sentiment worker processes."""
        self._scorer.close()


class _Batch:
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
        self.results = [IngestResult()]
        self.outbox: list[dict[str, Any]] = []
        self._groups: dict[str, tuple[datetime | None, datetime | None]] = {}
        self._active: list[ActiveAlert] | None = None
        self.enrich_source: str | None = None
        self.offer_lead = False

    def run(self, events: Sequence[InboundEvent]) -> IngestResult:
        return self.run_groups([events])[0]

    def run_groups(self, groups: Sequence[Sequence[InboundEvent]]) -> list[IngestResult]:
        """Store all groups' events as one batch; one result per group."""
        self.results = [IngestResult(received=len(g)) for g in groups]
        events = [e for g in groups for e in g]
        owners = [n for n, g in enumerate(groups) for _ in g]
        # Sentiment of large batches starts on the other core(s) right away, while this
        # process deduplicates and resolves authors; it takes the larger share to balance.
        incoming = [e for e in events if isinstance(e, Mention)]
        pending = self.scorer.begin(
            [m.text for m in incoming], worker_share=0.6, langs=[m.lang for m in incoming]
        )
        items = self._dedupe(events, owners)
        for item in items:
            self.results[item.owner].stored += 1
        for result in self.results:
            result.duplicates = result.received - result.stored
        if not items:
            return self.results
        for item in items:
            if isinstance(item.event, CrmEvent):
                item.contact_id = self._upsert_contact(item.event)
        self._resolve_authors([i for i in items if isinstance(i.event, Mention)])
        scored = [i for i in items if isinstance(i.event, Mention)]
        by_event = {id(m): s for m, s in zip(incoming, pending.result(), strict=True)}
        for item in scored:
            item.sentiment = by_event[id(item.event)]
        if self.ruleset.config.spikes:
            subjects = [subject_of(i.event, i.sentiment) for i in scored]
            record_counts(self.conn, self.ruleset, subjects, self.now)
        self._thread(items)
        self._write(items)
        self.results[0].outbox_rows = len(self.outbox)  # the batch's, on the first result
        return self.results

    # -- steps ---------------------------------------------------------------

    def _dedupe(self, events: Sequence[InboundEvent], owners: Sequence[int]) -> list[_Item]:
        seen: set[tuple[type, str, str]] = set()
        unique: list[tuple[InboundEvent, int]] = []
        for event, owner in zip(events, owners, strict=True):
            key = (type(event), event.source, event.external_id)
            if key not in seen:
                seen.add(key)
                unique.append((event, owner))
        stored: set[tuple[type, str, str]] = set()
        for cls, model in ((Mention, MentionRow), (CrmEvent, CrmEventRow)):
            keys = [(e.source, e.external_id) for e, _ in unique if isinstance(e, cls)]
            if keys:
                stored.update((cls, s, x) for s, x in sql.existing_keys(self.conn, model, keys))
        return [
            _Item(e, owner=o) for e, o in unique if (type(e), e.source, e.external_id) not in stored
        ]

    def _upsert_contact(self, event: CrmEvent) -> int | None:
        if event.contact_id is None:
            return None
        values = {
            "name": event.contact_name,
            "email": event.contact_email,
            "company": event.company,
            "deal_name": event.deal_name,
            "deal_stage": event.stage,
            "deal_amount": event.amount,
            "lifecycle_stage": event.properties.get("lifecyclestage"),
        }
        return contact_store.upsert_contact(
            self.conn, event.source, event.contact_id, values, list(event.contact_handles), self.now
        )

    def _resolve_authors(self, items: list[_Item]) -> None:
        if not items:
            return
        latest: dict[tuple[str, str], Mention] = {}
        for item in items:
            assert isinstance(item.event, Mention)
            key = (item.event.platform, contact_store.normalize_handle(item.event.author_handle))
            latest[key] = item.event
        known = sql.authors_by_key(self.conn, list(latest))
        missing = [k for k in latest if k not in known]
        is_new = set(missing)
        by_handle = sql.contacts_by_handle(self.conn, sorted({h for _, h in missing}))
        emails = {
            m.author_email.lower() for k, m in latest.items() if k in is_new and m.author_email
        }
        by_email = contact_store.contacts_by_email(self.conn, emails)
        new_rows: list[dict[str, Any]] = []
        for platform, handle in missing:
            mention = latest[(platform, handle)]
            contact = by_handle.get(handle)
            if contact is None and mention.author_email:
                contact = by_email.get(mention.author_email.lower())
            new_rows.append(
                {
                    "platform": platform,
                    "handle": handle,
                    "display_name": mention.author_name,
                    "followers": mention.author_followers,
                    "influence": influence(mention.author_followers),
                    "contact_id": contact,
                    "first_seen": self.now,
                    "updated_at": self.now,
                }
            )
        ids = sql.insert_returning_ids(self.conn, Author, new_rows, key=("platform", "handle"))
        for row, author_id in zip(new_rows, ids, strict=True):
            known[(row["platform"], row["handle"])] = (
                author_id,
                row["followers"],
                row["contact_id"],
            )
        sql.update_authors(
            self.conn,
            [
                {
                    "b_id": known[key][0],
                    "b_followers": m.author_followers,
                    "b_influence": influence(m.author_followers),
                    "b_updated_at": self.now,
                }
                for key, m in latest.items()
                if key not in is_new and known[key][1] != m.author_followers
            ],
        )
        for item in items:
            assert isinstance(item.event, Mention)
            author_id, _, contact_id = known[
                (item.event.platform, contact_store.normalize_handle(item.event.author_handle))
            ]
            item.author_id, item.contact_id = author_id, contact_id

    def _thread(self, items: list[_Item]) -> None:
        window = self.ruleset.config.alerts.reopen_window
        found = sql.latest_conversations(
            self.conn, sorted({i.event.thread_key for i in items}), self.now - window
        )
        convs: dict[str, _Conv] = {
            key: _Conv(
                id=row["id"],
                key=key,
                cycle=row["cycle"],
                channels=list(row["channels"]),
                mention_count=row["mention_count"],
                source=row["source"],
                severity=row["severity"],
                team=row["team"],
                status=row["status"],
                sentiment=row["sentiment"],
                sentiment_by=row["sentiment_by"],
                author_id=row["author_id"],
                shown=label(row["sentiment"]),
            )
            for key, row in found.items()
        }
        for item in items:
            key = item.event.thread_key
            conv = convs.get(key)
            if conv is not None and conv.status == "resolved":
                conv.status = "open"
                conv.cycle += 1
                item.reopens = True
            if conv is None:
                decision = decide(self.ruleset, subject_of(item.event, item.sentiment))
                if decision is None:
                    self.results[item.owner].unrouted += 1
                    continue
                conv = _Conv(
                    id=None,
                    key=key,
                    cycle=1,
                    channels=list(decision.channels),
                    mention_count=0,
                    source=item.event.source,
                    severity=decision.severity,
                    team=decision.team,
                    status="open",
                    new=True,
                    author_id=item.author_id,
                )
                convs[key] = conv
                item.opens = decision
            conv.touched = True
            conv.mention_count += 1
            conv.last_at = self.now
            if conv.new or (
                isinstance(item.event, Mention)
                and item.author_id == conv.author_id
                and sets_mood(item.sentiment, conv.sentiment)
            ):
                conv.sentiment, conv.sentiment_by = item.sentiment, OFFLINE
            item.conv = conv

    def _write(self, items: list[_Item]) -> None:
        opening = [i for i in items if i.opens is not None]
        reopening = [i for i in items if i.reopens]
        self._insert_conversations(opening)
        self._insert_events(items)
        self._reopen(reopening)
        rollups.count_cycles(
            self.conn,
            rollups.day_of(self.now),
            cycles=len(opening) + len(reopening),
            conversations=len(opening),
        )
        sql.bump_conversations(
            self.conn,
            [
                {
                    "b_id": c.id,
                    "b_count": c.mention_count,
                    "b_at": c.last_at,
                    "b_sentiment": c.sentiment,
                    "b_sentiment_by": c.sentiment_by,
                }
                for c in {id(i.conv): i.conv for i in items if i.conv is not None}.values()
                if c.touched and not c.new
            ],
        )
        self._restate_sentiment(items)
        self._queue_cards(items)
        sql.insert_many(self.conn, Outbox, self.outbox)

    def _restate_sentiment(self, items: list[_Item]) -> None:
        """Redraw the alerts of conversations whose sentiment label changed."""
        convs = {id(i.conv): i.conv for i in items if i.conv is not None and not i.conv.new}
        changed = {
            c.id: (c.sentiment, c.sentiment_by)
            for c in convs.values()
            if c.id is not None and c.shown is not None and label(c.sentiment) != c.shown
        }
        for card, channels in restate(self.conn, changed) if changed else []:
            for channel in channels:
                self._queue(card, channel)

    def _insert_conversations(self, opening: list[_Item]) -> None:
        rows: list[dict[str, Any]] = []
        for item in opening:
            assert item.opens is not None and item.conv is not None
            event = item.event
            is_mention = isinstance(event, Mention)
            rows.append(
                {
                    "key": item.conv.key,
                    "kind": "mention" if is_mention else "crm",
                    "source": event.source,
                    "platform": event.platform if isinstance(event, Mention) else "crm",
                    "author_id": item.author_id,
                    "contact_id": item.contact_id,
                    "status": "open",
                    "severity": item.opens.severity,
                    "rule": item.opens.rule,
                    "team": item.opens.team,
                    "channels": list(item.opens.channels),
                    "labels": item.opens.labels,
                    "cycle": 1,
                    "mention_count": item.conv.mention_count,
                    "sentiment": item.conv.sentiment,
                    "title": _title(event),
                    "created_at": self.now,
                    "last_activity_at": self.now,
                }
            )
        ids = sql.insert_returning_ids(self.conn, Conversation, rows, key=("key",))
        for item, conv_id in zip(opening, ids, strict=True):
            assert item.conv is not None
            item.conv.id = conv_id
            self.results[item.owner].opened.append(conv_id)
        sql.insert_many(
            self.conn,
            Cycle,
            [
                {
                    "conversation_id": i.conv.id,
                    "n": 1,
                    "source": i.conv.source,
                    "severity": i.conv.severity,
                    "team": i.conv.team,
                    "received_at": self.now,
                }
                for i in opening
                if i.conv is not None
            ],
        )

    def _insert_events(self, items: list[_Item]) -> None:
        mentions: list[dict[str, Any]] = []
        crm: list[dict[str, Any]] = []
        for item in items:
            conv_id = item.conv.id if item.conv is not None else None
            event = item.event
            if isinstance(event, Mention):
                mentions.append(
                    {
                        "source": event.source,
                        "external_id": event.external_id,
                        "platform": event.platform,
                        "author_id": item.author_id,
                        "conversation_id": conv_id,
                        "thread_key": event.thread_key,
                        "text": event.text,
                        "url": event.url,
                        "lang": event.lang,
                        "sentiment": item.sentiment,
                        "posted_at": event.posted_at,
                        "received_at": self.now,
                        "reply_ref": dict(event.reply_ref) or None,
                    }
                )
            else:
                crm.append(
                    {
                        "source": event.source,
                        "external_id": event.external_id,
                        "kind": event.kind,
                        "object_id": event.object_id,
                        "contact_id": item.contact_id,
                        "conversation_id": conv_id,
                        "summary": event.summary,
                        "amount": event.amount,
                        "stage": event.stage,
                        "previous_stage": event.previous_stage,
                        "properties": event.properties,
                        "occurred_at": event.occurred_at,
                        "received_at": self.now,
                    }
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

    def _reopen(self, reopening: list[_Item]) -> None:
        if not reopening:
            return
        cycles: list[dict[str, Any]] = []
        handling: list[dict[str, Any]] = []
        previous = sql.cycles_received(
            self.conn, [(i.conv.id, i.conv.cycle - 1) for i in reopening if i.conv and i.conv.id]
        )
        for item in reopening:
            conv = item.conv
            assert conv is not None and conv.id is not None
            self.results[item.owner].reopened.append(conv.id)
            cycles.append(
                {
                    "conversation_id": conv.id,
                    "n": conv.cycle,
                    "source": conv.source,
                    "severity": conv.severity,
                    "team": conv.team,
                    "received_at": self.now,
                    "previous_received_at": previous.get((conv.id, conv.cycle - 1)),
                    "alerted_at": self.now,
                }
            )
            handling.append(
                {
                    "conversation_id": conv.id,
                    "cycle": conv.cycle,
                    "kind": "reopened",
                    "actor_id": None,
                    "at": self.now,
                    "detail": {"by": "new message", "source": item.event.source},
                }
            )
        sql.insert_many(self.conn, Cycle, cycles)
        sql.insert_many(self.conn, HandlingEvent, handling)
        sql.reopen_conversations(
            self.conn, [{"b_id": i.conv.id, "b_cycle": i.conv.cycle} for i in reopening if i.conv]
        )

    def _queue_cards(self, items: list[_Item]) -> None:
        contact_ids = {i.contact_id for i in items if i.opens is not None and i.contact_id}
        contacts = contact_store.contacts_by_id(self.conn, contact_ids)
        for item in items:
            conv = item.conv
            if conv is None:
                continue
            assert conv.id is not None
            if item.opens is not None:
                decision = item.opens
                muter = inhibitor(self.ruleset.config, decision.labels, self._active_alerts())
                for channel, route_index in zip(decision.channels, decision.routes, strict=True):
                    why = explain(self.ruleset, decision, channel)
                    contact = contacts.get(item.contact_id or 0)
                    card = _alert_card(item, conv.id, channel, contact, why)
                    if self.offer_lead and isinstance(item.event, Mention):
                        card = replace(card, lead=True)
                    if muter is not None:
                        timing = muted_timing(muter, self.now, self._group_state)
                    else:
                        timing = alert_timing(
                            self.ruleset.config,
                            route_index,
                            decision.labels,
                            self.now,
                            self._group_state,
                        )
                    self._queue(card, channel, timing)
                continue
            event = item.event
            follow = FollowUpCard(
                conversation_id=conv.id,
                author_handle=event.author_handle
                if isinstance(event, Mention)
                else event.contact_name,
                text=event.text if isinstance(event, Mention) else event.summary,
                url=event.url if isinstance(event, Mention) else None,
                sentiment_label=label(item.sentiment),
                reopened=item.reopens,
            )
            for channel in conv.channels:
                self._queue(follow, channel)
                if item.reopens:
                    self._queue(
                        StatusCard(
                            conversation_id=conv.id, status="open", line="reopened by a new message"
                        ),
                        channel,
                    )

    def _queue(self, card: Card, channel: str, timing: AlertTiming | None = None) -> None:
        rows = outbox_rows(card, [channel], self.destinations, self.now, timing)
        self.outbox.extend(rows)
        if timing is not None and timing.group_key is not None:
            state = self._group_state(timing.group_key)
            self._groups[timing.group_key] = (timing.due, state[1])

    def _active_alerts(self) -> list[ActiveAlert]:
        if not self.ruleset.config.inhibit:
            return []
        if self._active is None:
            self._active = [
                ActiveAlert(conv_id, labels) for conv_id, labels in sql.open_spikes(self.conn)
            ]
        return self._active

    def _group_state(self, key: str) -> tuple[datetime | None, datetime | None]:
        if key not in self._groups:
            self._groups[key] = sql.group_state(self.conn, key)
        return self._groups[key]


def _title(event: InboundEvent) -> str:
    text = event.text if isinstance(event, Mention) else event.summary
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"


def _alert_card(
    item: _Item, conv_id: int, channel: str, contact: dict[str, Any] | None, why: str
) -> AlertCard:
    assert item.opens is not None
    event = item.event
    common: dict[str, Any] = {
        "conversation_id": conv_id,
        "source": event.source,
        "severity": item.opens.severity,
        "rule": item.opens.rule,
        "channel": channel,
        "contact": contact_line(contact),
        "title": _title(event),
        "why": why,
    }
    if isinstance(event, Mention):
        return AlertCard(
            platform=event.platform,
            text=event.text,
            url=event.url,
            author_handle=event.author_handle,
            author_name=event.author_name,
            followers=event.author_followers,
            influence=influence(event.author_followers),
            **card_fields(item.conv.sentiment if item.conv else item.sentiment),
            posted_at=event.posted_at.isoformat(),
            **common,
        )
    return AlertCard(
        platform="crm",
        text=_crm_text(event),
        author_handle=None,
        author_name=event.contact_name,
        posted_at=event.occurred_at.isoformat(),
        **common,
    )


def _crm_text(event: CrmEvent) -> str:
    parts = [event.summary] if event.summary else [event.kind.replace("_", " ")]
    if event.previous_stage and event.stage:
        parts.append(f"stage: {event.previous_stage} → {event.stage}")
    elif event.stage:
        parts.append(f"stage: {event.stage}")
    if event.amount is not None:
        parts.append(f"amount: ${event.amount:,.0f}")
    return " · ".join(parts)
