"""Ingest stage 5, cards: the outbox rows the dispatcher will post.

A conversation opened by the batch gets an alert card per channel of its route, timed by
the route's grouping (or muted by an inhibiting spike alert); an event that continues a
conversation gets a follow-up card in its channels (and a status card when it reopened
it); a conversation whose sentiment label changed gets its alerts redrawn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from handlers.cards import AlertCard, Card, FollowUpCard, StatusCard
from handlers.contacts import contact_line
from handlers.delivery import AlertTiming, DestinationResolver, alert_timing, outbox_rows
from handlers.events import CrmEvent, Mention
from handlers.influence import influence
from handlers.ingest_items import Item, title_of, touched_convs
from handlers.inhibit import ActiveAlert, inhibitor, muted_timing
from handlers.routing import explain
from handlers.rules import Ruleset
from handlers.sentiment import label
from handlers.sentiment.cards import card_fields, restate
from storage import contacts as contact_store
from storage import ingest_sql as sql
from storage.models import Outbox


class CardQueue:
    """Builds the batch's cards and their outbox rows (``rows``), then stores them."""

    def __init__(
        self,
        conn: Connection,
        ruleset: Ruleset,
        destinations: DestinationResolver,
        now: datetime,
        offer_lead: bool,
    ) -> None:
        self.conn = conn
        self.ruleset = ruleset
        self.destinations = destinations
        self.now = now
        self.offer_lead = offer_lead
        self.rows: list[dict[str, Any]] = []
        self._groups: dict[str, tuple[datetime | None, datetime | None]] = {}
        self._active: list[ActiveAlert] | None = None

    def queue_all(self, items: list[Item]) -> None:
        """Redraws, alerts and follow-ups for the items; stores the outbox rows."""
        self.restate_sentiment(items)
        self.queue_cards(items)
        sql.insert_many(self.conn, Outbox, self.rows)

    def restate_sentiment(self, items: list[Item]) -> None:
        """Redraw the alerts of conversations whose sentiment label changed."""
        changed = {
            c.id: (c.sentiment, c.sentiment_by)
            for c in touched_convs(items)
            if not c.new
            and c.id is not None
            and c.shown is not None
            and label(c.sentiment) != c.shown
        }
        for card, channels in restate(self.conn, changed) if changed else []:
            for channel in channels:
                self.queue(card, channel)

    def queue_cards(self, items: list[Item]) -> None:
        """An alert per channel for each opened conversation, a follow-up otherwise."""
        contact_ids = {i.contact_id for i in items if i.opens is not None and i.contact_id}
        contacts = contact_store.contacts_by_id(self.conn, contact_ids)
        for item in items:
            conv = item.conv
            if conv is None:
                continue
            assert conv.id is not None
            if item.opens is not None:
                self._queue_alerts(item, conv.id, contacts.get(item.contact_id or 0))
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
                self.queue(follow, channel)
                if item.reopens:
                    self.queue(
                        StatusCard(
                            conversation_id=conv.id, status="open", line="reopened by a new message"
                        ),
                        channel,
                    )

    def _queue_alerts(self, item: Item, conv_id: int, contact: dict[str, Any] | None) -> None:
        decision = item.opens
        assert decision is not None
        muter = inhibitor(self.ruleset.config, decision.labels, self._active_alerts())
        for channel, route_index in zip(decision.channels, decision.routes, strict=True):
            why = explain(self.ruleset, decision, channel)
            card = alert_card(item, conv_id, channel, contact, why)
            if self.offer_lead and isinstance(item.event, Mention):
                card = replace(card, lead=True)
            if muter is not None:
                timing = muted_timing(muter, self.now, self._group_state)
            else:
                timing = alert_timing(
                    self.ruleset.config, route_index, decision.labels, self.now, self._group_state
                )
            self.queue(card, channel, timing)

    def queue(self, card: Card, channel: str, timing: AlertTiming | None = None) -> None:
        """The outbox rows of ``card`` in ``channel`` (per destination)."""
        self.rows.extend(outbox_rows(card, [channel], self.destinations, self.now, timing))
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


def alert_card(
    item: Item, conv_id: int, channel: str, contact: dict[str, Any] | None, why: str
) -> AlertCard:
    """The alert card of the conversation ``item`` opened, for ``channel``."""
    assert item.opens is not None
    event = item.event
    common: dict[str, Any] = {
        "conversation_id": conv_id,
        "source": event.source,
        "severity": item.opens.severity,
        "rule": item.opens.rule,
        "channel": channel,
        "contact": contact_line(contact),
        "title": title_of(event),
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
        text=crm_text(event),
        author_handle=None,
        author_name=event.contact_name,
        posted_at=event.occurred_at.isoformat(),
        **common,
    )


def crm_text(event: CrmEvent) -> str:
    """A CRM event's alert text: its summary (or kind), stage change and amount."""
    parts = [event.summary] if event.summary else [event.kind.replace("_", " ")]
    if event.previous_stage and event.stage:
        parts.append(f"stage: {event.previous_stage} → {event.stage}")
    elif event.stage:
        parts.append(f"stage: {event.stage}")
    if event.amount is not None:
        parts.append(f"amount: ${event.amount:,.0f}")
    return " · ".join(parts)
