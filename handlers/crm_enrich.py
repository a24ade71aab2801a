"""Completing CRM events that carry only ids, after ingest and off the webhook's path.

A HubSpot webhook says "contact 123 was created" or "deal 456 moved to negotiation"
without names. Ingest stores the event and, in the same transaction, a row in
``crm_enrichment`` (:func:`enrichment_rows`), then answers the webhook. In the
background :class:`Enricher` claims due rows, reads the object through the
:class:`~handlers.crm_port.Crm` port (a deal with its associated contacts, the first of
which is read too), completes the stored contact (name, email, company, owner), records
the deal against it, links the conversation and the event to the contact, and redraws
the posted alert with the contact (``contact`` on the card, a status line in place).

Nothing is lost: a rate limit (429) or an outage leaves the row pending until
``retry_after`` (or a growing backoff); the rows survive restarts and the bot runs them
again at start. Several replicas may run it: a row is claimed by a conditional update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from handlers.background import BackgroundRun
from handlers.cards import NoticeCard, StatusCard
from handlers.contacts import contact_line
from handlers.context import BotContext
from handlers.crm_port import ContactRecord, Crm, CrmError, DealRecord
from handlers.delivery import outbox_rows
from handlers.events import CrmEvent
from storage import contacts as contact_store
from storage import crm as store
from storage import ingest_sql as sql
from storage.models import Conversation, Outbox
from storage.models import CrmEvent as CrmEventRow
from storage.sentiment import restate_alerts

log = logging.getLogger(__name__)

ENRICHED_OBJECTS = ("contact", "deal")
LEASE = timedelta(minutes=2)  # a claimed row is retried after this if the run died
BATCH = 20
MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = 30  # attempts at transient failures other than rate limits


def enrichment_rows(events: Sequence[CrmEvent], crm: str) -> list[dict[str, str]]:
    """The enrichments to queue for newly stored events of the CRM ``crm`` (its source name):
    contacts and deals that still exist."""
    rows: list[dict[str, str]] = []
    for event in events:
        kind, _, object_id = event.object_id.partition("-")
        if event.source != crm or kind not in ENRICHED_OBJECTS or not object_id.isdigit():
            continue
        if event.kind.endswith("_deleted"):
            continue
        rows.append(
            {
                "source": event.source,
                "external_id": event.external_id,
                "object_type": kind,
                "object_id": object_id,
            }
        )
    return rows


@dataclass(frozen=True, slots=True)
class _Found:
    contact: ContactRecord | None
    deal: DealRecord | None


class Enricher(BackgroundRun):
    """Runs enrichments in the background; at most one run at a time per process."""

    what = "CRM enrichment"

    def __init__(self, ctx: BotContext, crm: Crm | None) -> None:
        super().__init__()
        self.ctx = ctx
        self.crm = crm
        self._timer: asyncio.TimerHandle | None = None
        self._told: set[str] = set()  # reasons the admins were told this run of the process

    @property
    def enabled(self) -> bool:
        return self.crm is not None and self.crm.can_read

    async def after_run(self) -> None:
        """Wake up when the next pending enrichment is due (a retry after a rate limit)."""
        if not self.enabled:
            return
        due = await asyncio.to_thread(self._next_due)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if due is not None:
            delay = max(1.0, (due - self.ctx.clock.now()).total_seconds())
            self._timer = asyncio.get_running_loop().call_later(delay, self.request)

    def _next_due(self) -> datetime | None:
        with self.ctx.db.transaction() as conn:
            return store.next_due(conn)

    def close(self) -> None:
        """Cancel the timer of the next retry (shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def run(self) -> int:
        """Run every due enrichment; returns how many completed. The database work runs
        in worker threads, the CRM's own calls too (bot/crm): the loop is never held."""
        completed = 0
        while self.enabled:
            batch = await asyncio.to_thread(self._claim)
            if not batch:
                break
            for due in batch:
                completed += await self._one(due)
        return completed

    def _claim(self) -> list[store.Due]:
        with self.ctx.db.transaction() as conn:
            return store.claim_due(conn, self.ctx.clock.now(), LEASE, BATCH)

    async def _one(self, due: store.Due) -> int:
        try:
            found = await self._read(due)
        except CrmError as exc:
            await asyncio.to_thread(self._failed, due, exc)
            return 0
        await asyncio.to_thread(self._store, due, found)
        return 1

    def _store(self, due: store.Due, found: _Found) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as conn:
            queued = self._apply(conn, due, found, now)
            store.finish(conn, due.id, now)
        if queued:
            self.ctx.on_queued()

    async def _read(self, due: store.Due) -> _Found:
        assert self.crm is not None
        if due.object_type == "contact":
            return _Found(await self.crm.read_contact(due.object_id), None)
        deal = await self.crm.read_deal(due.object_id)
        contact = await self.crm.read_contact(deal.contact_ids[0]) if deal.contact_ids else None
        return _Found(contact, deal)

    def _failed(self, due: store.Due, exc: CrmError) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as conn:
            if exc.permanent or (exc.retry_after is None and due.attempts + 1 >= GIVE_UP_AFTER):
                store.finish(conn, due.id, now, exc.reason)
                log.warning(
                    "CRM %s %s not completed: %s", due.object_type, due.object_id, exc.reason
                )
                told = self._tell_admins(conn, due, exc.reason, now)
            else:
                backoff = timedelta(seconds=30 * 2 ** min(due.attempts, 10))
                wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff
                store.retry_later(conn, due.id, now + min(wait, MAX_BACKOFF), exc.reason)
                log.info("CRM %s %s later: %s", due.object_type, due.object_id, exc.reason)
                told = False
        if told:
            self.ctx.on_queued()

    def _tell_admins(self, conn: Connection, due: store.Due, reason: str, now: datetime) -> bool:
        """Say a failure that will not be retried in the admins' channel (once per reason)."""
        channel = self.ctx.config.alerts.admin_channel
        if channel is None or reason in self._told:
            return False
        self._told.add(reason)
        text = f"A CRM webhook's {due.object_type} {due.object_id} was not completed: {reason}"
        card = NoticeCard(conversation_id=None, text=text)
        sql.insert_many(conn, Outbox, outbox_rows(card, [channel], self.ctx.destinations, now))
        return True

    def _apply(self, conn: Connection, due: store.Due, found: _Found, now: datetime) -> bool:
        """Store what was read; returns whether alert redraws were queued."""
        contact, deal = found.contact, found.deal
        local: int | None = None
        if contact is not None:
            values: dict[str, Any] = {
                "name": contact.name,
                "email": contact.email,
                "company": contact.company,
                "owner": contact.owner,
                "url": contact.url,
                "lifecycle_stage": contact.lifecycle_stage,
            }
            shown = deal or (contact.deals[0] if contact.deals else None)
            if shown is not None:
                values.update(
                    deal_name=shown.name, deal_stage=shown.stage, deal_amount=shown.amount
                )
            local = contact_store.upsert_contact(
                conn, due.source, contact.id, values, list(contact.handles), now
            )
            for linked in contact.deals:
                _record_deal(conn, due.source, linked, local, now)
        if deal is not None:
            _record_deal(conn, due.source, deal, local, now)
        if local is None:
            return False
        conversation_id = _link(conn, due, local)
        if conversation_id is None:
            return False
        return self._redraw(conn, conversation_id, local, contact, now)

    def _redraw(
        self,
        conn: Connection,
        conversation_id: int,
        contact_id: int,
        contact: ContactRecord | None,
        now: datetime,
    ) -> bool:
        line = contact_line(contact_store.contacts_by_id(conn, {contact_id}).get(contact_id))
        fields: dict[str, Any] = {"contact": line}
        if contact is not None and contact.name:
            fields["author_name"] = contact.name
        rows: list[dict[str, Any]] = []
        for redraw in restate_alerts(conn, {conversation_id: fields}):
            card = StatusCard(
                conversation_id=redraw.conversation_id,
                status=redraw.status,
                line=f"CRM contact: {line}",
                assignee=redraw.assignee,
            )
            rows.extend(outbox_rows(card, list(redraw.channels), self.ctx.destinations, now))
        sql.insert_many(conn, Outbox, rows)
        return bool(rows)


def _record_deal(
    conn: Connection, crm: str, deal: DealRecord, contact_id: int | None, now: datetime
) -> None:
    if deal.name is None and deal.amount is None and deal.stage is None:
        return  # only its id is known (a placeholder): nothing to record
    store.upsert_deal(
        conn,
        crm,
        deal.id,
        {"contact_id": contact_id, "name": deal.name, "amount": deal.amount, "stage": deal.stage},
        now,
    )


def _link(conn: Connection, due: store.Due, contact_id: int) -> int | None:
    """Point the CRM event and its conversation at the contact; the conversation's id."""
    e, c = sql.table(CrmEventRow), sql.table(Conversation)
    row = conn.execute(
        select(e.c.id, e.c.conversation_id).where(
            e.c.source == due.source, e.c.external_id == due.external_id
        )
    ).first()
    if row is None:
        return None
    conn.execute(update(e).where(e.c.id == row.id).values(contact_id=contact_id))
    if row.conversation_id is None:
        return None
    conn.execute(
        update(c)
        .where(c.c.id == row.conversation_id, c.c.contact_id.is_(None))
        .values(contact_id=contact_id)
    )
    return int(row.conversation_id)
