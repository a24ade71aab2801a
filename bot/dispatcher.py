"""The dispatcher: posts outbox rows through the chat adapters.

A row is marked sent only after the platform confirmed it, so a crash between posting
and marking can at worst post twice, never lose an alert. Failures are retried with
exponential backoff and jitter, forever (a row is never dropped); follow-ups and
status updates wait for their conversation's alert so they can thread under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.base import ChatAdapter, DeliveryError
from handlers.cards import AlertCard, Card, StatusCard, card_from_outbox
from handlers.clock import Clock
from storage import handling
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import Conversation, Outbox, PostedAlert

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``attempt`` (1-based): base * 2^(attempt-1), capped, with jitter."""

    base: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        seconds = min(self.cap, self.base * 2 ** (attempt - 1))
        seconds *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        return float(seconds)


class Dispatcher:
    """Moves outbox rows to chat platforms."""

    def __init__(
        self,
        db: Database,
        adapters: dict[str, ChatAdapter],
        clock: Clock,
        backoff: Backoff | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Ask the running loop to look at the outbox now (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox whenever woken or every ``poll_interval`` until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    async def drain(self, limit: int = 100) -> int:
        """Post every due row (in batches of ``limit``); return how many were sent."""
        sent = 0
        while True:
            with self.db.session() as session:
                rows = outbox_store.due(session, self.clock.now(), limit)
            if not rows:
                return sent
            progressed = 0
            for row in rows:
                outcome = await self._deliver(row)
                if outcome == "sent":
                    sent += 1
                if outcome != "waiting":
                    progressed += 1
            if progressed == 0 or len(rows) < limit:
                return sent

    async def _deliver(self, row: Outbox) -> str:
        assert row.id is not None
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            self._fail(row, f"no running adapter for platform {row.platform!r}", None)
            return "failed"
        card = card_from_outbox(row.kind, row.payload)
        thread_ref: str | None = None
        if not isinstance(card, AlertCard) and row.conversation_id is not None:
            with self.db.session() as session:
                posted = outbox_store.posted_alert(
                    session, row.conversation_id, row.platform, row.destination
                )
                if posted is None and outbox_store.alert_pending(
                    session, row.conversation_id, row.platform, row.destination
                ):
                    return "waiting"
            thread_ref = posted.message_ref if posted else None
        try:
            if isinstance(card, StatusCard) and thread_ref is not None:
                await adapter.update(row.destination, thread_ref, card)
                ref = thread_ref
            else:
                ref = await adapter.post(row.destination, card, thread_ref)
        except DeliveryError as exc:
            self._fail(row, exc.reason, exc.retry_after)
            return "failed"
        except Exception as exc:
            log.exception("posting outbox row %s to %s failed", row.id, row.platform)
            self._fail(row, f"{type(exc).__name__}", None)
            return "failed"
        self._sent(row, card, ref)
        return "sent"

    def _sent(self, row: Outbox, card: Card, ref: str) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            stored = session.get(Outbox, row.id)
            assert stored is not None
            stored.status = "sent"
            stored.sent_at = now
            stored.message_ref = ref
            stored.attempts += 1
            session.add(stored)
            if isinstance(card, AlertCard) and row.conversation_id is not None:
                session.add(
                    PostedAlert(
                        conversation_id=row.conversation_id,
                        channel=row.channel,
                        platform=row.platform,
                        destination=row.destination,
                        message_ref=ref,
                        posted_at=now,
                    )
                )
                conversation = session.get(Conversation, row.conversation_id)
                if (
                    conversation is not None
                    and handling.current_cycle(session, conversation).alerted_at is None
                ):
                    handling.record(
                        session,
                        conversation,
                        "alerted",
                        None,
                        now,
                        {"channel": row.channel, "platform": row.platform},
                    )

    def _fail(self, row: Outbox, reason: str, retry_after: float | None) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            stored = session.get(Outbox, row.id)
            assert stored is not None
            stored.attempts += 1
            stored.last_error = reason[:MAX_ERROR_LENGTH]
            delay = self.backoff.delay(stored.attempts, retry_after)
            stored.next_attempt_at = now + timedelta(seconds=delay)
            session.add(stored)
            attempts = stored.attempts
        log.warning(
            "outbox row %s to %s:%s failed (attempt %d, retry in %.0fs): %s",
            row.id,
            row.platform,
            row.destination,
            attempts,
            delay,
            reason[:MAX_ERROR_LENGTH],
        )

    def next_due(self) -> datetime | None:
        """When the next pending row is due (None when the outbox is empty)."""
        with self.db.session() as session:
            return outbox_store.next_due_at(session)
