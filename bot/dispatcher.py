"""The dispatcher: posts outbox rows through the chat adapters.

A row is marked sent only after the platform confirmed it, so a crash between posting
and marking can at worst post twice, never lose an alert. Failures are retried with
exponential backoff and jitter, forever (a row is never dropped); follow-ups and
status updates wait for their conversation's alert so they can thread under it.

Several replicas may share one database: a destination is drained only by the holder of
its dispatch lease (storage/leases.py), and the post budget is re-read from the database
whenever the lease is taken. Database work runs in worker threads, off the event loop.

What to post now, what to fold into a digest and what waits for the budget is decided by
the pure functions of bot/delivery_policy.py; this module reads, posts and records.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlmodel import Session

from bot.backoff import Backoff
from bot.budget import WINDOW, PostBudget
from bot.chat.base import ChatAdapter, DeliveryError, PostedRef
from bot.delivery_policy import (
    AlertAction,
    burst_reason,
    channel_budget,
    fold_followups,
    plan_alerts,
    plan_row,
)
from bot.observability import BotMetrics
from handlers.cards import (
    AlertCard,
    Card,
    DigestCard,
    FollowUpCard,
    StatusCard,
    card_from_outbox,
    digest_of,
    followup_digest,
)
from handlers.clock import Clock
from handlers.config import CrmbotConfig
from storage import handling, leases
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import Outbox, PostedAlert
from storage.outbox_types import OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 300
DEFAULT_PER_MINUTE = 50
FALLBACK_AFTER = 5  # failed attempts before an alert also goes to the fallback channel
POST_LOOKUP_MARGIN = timedelta(minutes=2)  # clock skew allowed between us and the platform
LEASE_TTL = timedelta(seconds=30)  # a dead replica's destinations are taken over after this
# destinations one replica drains at once: the rest stay unleased for other replicas (and
# one slow channel still holds no other)
MAX_PARALLEL = 16
DUE_LIMIT = 100  # other rows read per pass

# what a drain read after taking a destination's lease: alerts by digest group, then the rest
_Claimed = tuple[list[tuple[str | None, list[Outbox]]], list[Outbox]]
# a pass's look at the outbox: the work by destination (alert group keys, other rows), the
# newest due row id of each, the leases taken meanwhile, and how many groups and rows
_Due = tuple[
    dict[tuple[str, str], tuple[list[str | None], list[Outbox]]],
    dict[tuple[str, str], int],
    dict[tuple[str, str], _Claimed | None],
    int,
    int,
]


def replica_id() -> str:
    """A name for this process among the replicas (host, pid and a random tail)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _posted_ref(posted: PostedAlert) -> PostedRef:
    return PostedRef(posted.message_ref, posted.thread_ref or posted.message_ref)


def _has_posted_alert(session: Session, row: Outbox) -> bool:
    if row.conversation_id is None:
        return True
    return (
        outbox_store.posted_alert(session, row.conversation_id, row.platform, row.destination)
        is not None
    )


def record_sent(
    conn: Connection, row: Outbox, alert: bool, ref: PostedRef, digest: bool, now: datetime
) -> tuple[int, int] | None:
    """Mark ``row`` posted as ``ref`` (``alert``: it is an alert, note where it landed);
    returns (conversation, cycle) when it was the conversation's first alert. Core
    statements built once (storage/outbox.py, storage/handling.py): this runs for every
    alert, holding SQLite's write lock."""
    assert row.id is not None
    if not outbox_store.mark_sent(conn, row.id, ref.message_ref, now):
        # a lease ran out mid-post and another replica posted it too
        log.warning("outbox row %s was posted by two replicas", row.id)
    if not alert or row.conversation_id is None:
        return None
    outbox_store.note_posted_alert(
        conn,
        {
            "conversation_id": row.conversation_id,
            "channel": row.channel,
            "platform": row.platform,
            "destination": row.destination,
            "message_ref": ref.message_ref,
            "thread_ref": ref.thread_ref,
            "digest": digest,
            "posted_at": now,
        },
    )
    detail = {"channel": row.channel, "platform": row.platform}
    cycle = handling.record_alerted(conn, row.conversation_id, now, detail)
    return (row.conversation_id, cycle) if cycle is not None else None


class Dispatcher:
    """Moves outbox rows to chat platforms."""

    def __init__(
        self,
        db: Database,
        adapters: dict[str, ChatAdapter],
        clock: Clock,
        backoff: Backoff | None = None,
        poll_interval: float = 1.0,
        config: Callable[[], CrmbotConfig] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.budget = PostBudget()
        self.adapters = adapters
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_alerted: Callable[[int, int, datetime], None] | None = None
        # more after-alert hooks (e.g. suggested replies), called after on_alerted
        self.after_alert: list[Callable[[int, int, datetime], None]] = []
        self.on_repeated_failure: Callable[[Outbox, str, bool], None] | None = None
        self.metrics: BotMetrics | None = None  # set by the bot: latency, errors
        self.holder = replica_id()
        self.lease_ttl = LEASE_TTL
        self._leases: dict[tuple[str, str], datetime] = {}  # held leases and their expiry
        self.max_parallel = MAX_PARALLEL
        self._slot_count = 0
        self._slot_gate = asyncio.Semaphore(MAX_PARALLEL)
        self._active: dict[tuple[str, str], asyncio.Task[tuple[int, int]]] = {}  # draining now
        self._again: set[tuple[str, str]] = set()  # rows were queued there while it drained
        self._final: dict[tuple[str, str], int | None] = {}  # the last row a drain read
        self._pre_started: set[int] = set()  # marked as being posted when the lease was taken
        self._seen: dict[tuple[str, str], int] = {}  # newest row id a drain under way read

    def wake(self) -> None:
        """Ask the running loop to look at the outbox now (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox whenever woken or every ``poll_interval`` until ``stop`` is set.

        A pass only looks at what is due and starts draining each destination that is not
        being drained already; it does not wait for them, so a row queued while another
        destination is posting goes out at once (rows queued for a destination that is
        being drained are read by that drain before it lets its lease go)."""
        self._loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._wake.clear()  # before the pass: a wake during it starts the next one
                try:
                    await self._start_due(self.clock.now(), DUE_LIMIT)
                except Exception:
                    log.exception("dispatcher pass failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        finally:
            # what is being posted finishes (or is cancelled with this task)
            await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def drain(self, limit: int = DUE_LIMIT) -> int:
        """Post everything that is due (one drain at a time) and wait until it is out;
        return how many messages were posted."""
        async with self._draining:
            return await self._drain(limit)

    async def _drain(self, limit: int) -> int:
        """Post everything that is due; return how many messages were posted.

        Alerts go per destination: one by one while the channel's post budget allows,
        as one digest when a group, quiet hours or a burst over the budget holds more
        than that. Other rows (follow-ups, updates, notices) follow, oldest first.
        """
        sent = 0
        while True:
            now = self.clock.now()
            mine, groups, others = await self._start_due(now, limit)
            busy = [task for task in self._active.values() if task not in mine]
            if not mine and not busy:
                return sent
            results = await asyncio.gather(*mine)
            for outcome in await asyncio.gather(*busy, return_exceptions=True):
                if isinstance(outcome, tuple):
                    results.append(outcome)
            sent += sum(posted for posted, _ in results)
            progressed = sum(moved for _, moved in results)
            if progressed == 0 or (not groups and others < limit):
                return sent

    async def _start_due(
        self, now: datetime, limit: int
    ) -> tuple[list[asyncio.Task[tuple[int, int]]], int, int]:
        """Start draining every destination with due rows that is not being drained yet
        (those are told to look again before they finish); returns the drains started
        and how many alert groups and other rows were due.

        The leases of as many destinations as there are free slots are taken in the
        transaction that finds what is due (in random order, so replicas share); the
        rest take theirs when a slot frees up."""
        free = max(0, self.max_parallel - len(self._active))
        due = await asyncio.to_thread(self._due_and_claim, now, limit, set(self._active), free)
        work, newest, claims, groups, others = due
        started: list[asyncio.Task[tuple[int, int]]] = []
        for target, claimed in claims.items():  # first: they hold a lease and a slot is free
            if claimed is None:
                continue
            if target in self._active:  # a drain started meanwhile (drain() during run())
                self._again.add(target)
                continue
            keys, rows = work[target]
            started.append(self._start(target, keys, len(rows), now, claimed))
        for target, (keys, rows) in work.items():
            if target in claims:
                continue
            if target in self._active:
                if newest.get(target, 0) > self._seen.get(target, 0):
                    self._again.add(target)  # queued after that drain read its rows
                continue
            started.append(self._start(target, keys, len(rows), now, None))
        return started, groups, others

    def _start(
        self,
        target: tuple[str, str],
        keys: list[str | None],
        limit: int,
        now: datetime,
        claimed: _Claimed | None,
    ) -> asyncio.Task[tuple[int, int]]:
        task = asyncio.create_task(self._drain_destination(target, keys, limit, now, claimed))
        self._active[target] = task
        task.add_done_callback(functools.partial(self._finished, target))
        return task

    def _due_and_claim(
        self, now: datetime, limit: int, busy: set[tuple[str, str]], free: int
    ) -> _Due:
        """What is due on the platforms this replica runs (others are left to replicas
        that run them), by destination; and, in the same transaction, the leases and due
        rows of up to ``free`` destinations not ``busy`` here (None: another replica
        holds it)."""
        with self.db.transaction() as conn:
            groups = [g for g in outbox_store.due_alert_batches(conn, now) if g[0] in self.adapters]
            others = [
                r for r in outbox_store.due_other(conn, now, limit) if r.platform in self.adapters
            ]
            work: dict[tuple[str, str], tuple[list[str | None], list[Outbox]]] = {}
            newest: dict[tuple[str, str], int] = {}
            for platform, destination, group_key, last_id in groups:
                target = (platform, destination)
                work.setdefault(target, ([], []))[0].append(group_key)
                newest[target] = max(newest.get(target, 0), last_id)
            for row in others:
                target = (row.platform, row.destination)
                work.setdefault(target, ([], []))[1].append(row)
                newest[target] = max(newest.get(target, 0), row.id or 0)
            # destinations are independent: one slow or rate-limited channel holds no other
            targets = [t for t in work if t not in busy]
            random.shuffle(targets)  # which ones: at random, so replicas share
            taken = self.clock.now()
            # in one order on every replica: two transactions taking several leases each
            # never wait for each other in a circle (PostgreSQL would call it a deadlock)
            found = {
                t: self._claim_in(conn, t, work[t][0], len(work[t][1]), now, taken)
                for t in sorted(targets[:free])
            }
        claims = {t: self._claimed(t, f, taken) if f else None for t, f in found.items()}
        return work, newest, claims, len(groups), len(others)

    def _finished(self, target: tuple[str, str], task: asyncio.Task[tuple[int, int]]) -> None:
        """A destination's drain ended: forget it, and look again at once when rows were
        queued for it meanwhile."""
        if self._active.get(target) is task:
            del self._active[target]
        if target in self._again:
            self._again.discard(target)
            self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("draining %s:%s failed", *target, exc_info=task.exception())

    @property
    def _slots(self) -> asyncio.Semaphore:
        """At most ``max_parallel`` destinations leased and drained at once."""
        if self._slot_count != self.max_parallel:
            self._slot_gate = asyncio.Semaphore(self.max_parallel)
            self._slot_count = self.max_parallel
        return self._slot_gate

    def _claim(
        self, target: tuple[str, str], group_keys: list[str | None], limit: int, now: datetime
    ) -> _Claimed | None:
        """Take the destination's lease and read what is due there, in one transaction
        (see :meth:`_claim_in`); None when another replica holds it."""
        taken = self.clock.now()
        with self.db.transaction() as conn:
            found = self._claim_in(conn, target, group_keys, limit, now, taken)
        return self._claimed(target, found, taken) if found is not None else None

    def _claim_in(
        self,
        conn: Connection,
        target: tuple[str, str],
        group_keys: list[str | None],
        limit: int,
        now: datetime,
        taken: datetime,
    ) -> tuple[_Claimed, list[datetime], list[int]] | None:
        """Take the destination's lease and, in the same transaction, read what is due
        there (after the lease was taken: what another replica posted meanwhile is not
        due) and what every replica posted there in the last minute (the post budget).
        Alerts about to be posted one by one are marked as being posted (see
        :meth:`_post_once`) in that transaction too. None when another replica holds it."""
        platform, destination = target
        if not leases.claim(conn, platform, destination, self.holder, taken, self.lease_ttl):
            return None
        posted = outbox_store.recent_posts(conn, platform, destination, taken - WINDOW)
        batches = [
            (key, outbox_store.due_alerts(conn, now, platform, destination, key))
            for key in group_keys
        ]
        others = outbox_store.due_other_of(conn, now, platform, destination, limit) if limit else []
        started = self._about_to_post(target, batches, posted, taken)
        if started:
            outbox_store.mark_post_started(conn, started, taken)
        return (batches, others), posted, started

    def _claimed(
        self,
        target: tuple[str, str],
        found: tuple[_Claimed, list[datetime], list[int]],
        taken: datetime,
    ) -> _Claimed:
        """Note a lease taken at ``taken`` (once its transaction committed)."""
        claimed, posted, started = found
        self._leases[target] = taken + self.lease_ttl
        self.budget.seed(target, posted)
        self._pre_started.update(started)
        return claimed

    def _about_to_post(
        self,
        target: tuple[str, str],
        batches: list[tuple[str | None, list[Outbox]]],
        posted: list[datetime],
        now: datetime,
    ) -> list[int]:
        """The alerts of the first batch when they will be posted one by one through an
        adapter that looks for posts after a crash (so they must be marked first)."""
        adapter = self.adapters.get(target[0])
        if not batches or not batches[0][1] or adapter is None or not adapter.finds_posts:
            return []
        key, rows = batches[0]
        first = rows[0]
        per_minute = self._per_minute(first.channel, first.platform)
        available = max(0, per_minute - sum(1 for t in posted if t > now - WINDOW))
        if plan_alerts(len(rows), key, available, per_minute).action is not AlertAction.EACH:
            return []
        return [r.id for r in rows if r.id is not None]

    async def _holds(self, target: tuple[str, str]) -> bool:
        """Whether this replica still holds the destination's lease (renewed once a
        third of it is spent); False when it ran out and another replica may have taken it."""
        until = self._leases.get(target)
        if until is None:
            return False
        if until - self.clock.now() > self.lease_ttl * 2 / 3:
            return True
        return await asyncio.to_thread(self._renew, target)

    def _renew(self, target: tuple[str, str]) -> bool:
        now = self.clock.now()
        with self.db.transaction() as conn:
            kept = leases.renew(conn, *target, self.holder, now, self.lease_ttl)
        if kept:
            self._leases[target] = now + self.lease_ttl
        else:
            self._leases.pop(target, None)
            log.warning("lost the dispatch lease of %s:%s", *target)
        return kept

    def _release(self, target: tuple[str, str]) -> None:
        self._leases.pop(target, None)
        with self.db.transaction() as conn:
            leases.release(conn, *target, self.holder)

    def _reread(self, target: tuple[str, str], limit: int) -> _Claimed:
        """What is due on a destination this replica holds (rows queued while it drained)."""
        platform, destination = target
        now = self.clock.now()
        with self.db.transaction() as conn:
            keys = outbox_store.due_alert_keys(conn, now, platform, destination)
            batches = [
                (key, outbox_store.due_alerts(conn, now, platform, destination, key))
                for key in keys
            ]
            others = outbox_store.due_other_of(conn, now, platform, destination, limit)
        return batches, others

    async def _drain_destination(
        self,
        target: tuple[str, str],
        group_keys: list[str | None],
        limit: int,
        now: datetime,
        claimed: _Claimed | None = None,
    ) -> tuple[int, int]:
        """One destination's due rows, in order: alerts (and digests), then the rest;
        only while this replica holds the destination's lease (``claimed``: taken
        already, with what was due). Rows queued for it meanwhile are read and posted
        before the lease is let go."""
        async with self._slots:
            if claimed is None:
                claimed = await asyncio.to_thread(self._claim, target, group_keys, limit, now)
            if claimed is None:
                return 0, 0
            read = {r.id for _, rows in claimed[0] for r in rows}
            self._note_seen(target, claimed)
            sent = progressed = 0
            try:
                while True:
                    batches, others = claimed
                    posted, moved = await self._drain_leased(target, batches, others)
                    sent += posted
                    progressed += moved
                    if target not in self._again or target not in self._leases or not moved:
                        return sent, progressed
                    self._again.discard(target)
                    claimed = await asyncio.to_thread(self._reread, target, DUE_LIMIT)
                    self._note_seen(target, claimed)
            finally:
                self._final.pop(target, None)
                self._seen.pop(target, None)
                self._pre_started.difference_update(read)
                if target in self._leases:  # not let go with the last row marked sent
                    await asyncio.to_thread(self._release, target)

    async def _drain_leased(
        self,
        target: tuple[str, str],
        batches: list[tuple[str | None, list[Outbox]]],
        others: list[Outbox],
    ) -> tuple[int, int]:
        now = self.clock.now()
        # the last row is marked sent and the lease let go in one transaction (unless
        # more rows were queued meanwhile)
        last = [r for _, rows in batches for r in rows][-1:] if not others else []
        self._final[target] = last[0].id if last else None
        sent = progressed = 0
        for group_key, rows in batches:
            posted, moved = await self._deliver_alerts(rows, group_key)
            sent += posted
            progressed += moved
        folded: set[int] = set()
        followups = [r for r in others if r.kind == OutboxKind.FOLLOWUP]
        if followups:
            posted, settled = await self._fold_followups(followups, now)
            sent += posted
            progressed += len(settled)
            folded.update(settled)
        for row in others:
            if row.id in folded:
                continue
            outcome = await self._deliver(row)
            if outcome == "sent":
                sent += 1
            if outcome != "waiting":
                progressed += 1
        return sent, progressed

    def _note_seen(self, target: tuple[str, str], claimed: _Claimed) -> None:
        batches, others = claimed
        ids = [r.id or 0 for _, rows in batches for r in rows] + [r.id or 0 for r in others]
        self._seen[target] = max([self._seen.get(target, 0), *ids])

    def _lets_go(self, row: Outbox) -> tuple[str, str] | None:
        """The destination whose lease goes with marking ``row`` sent: when it is the last
        row this drain read and no more were queued meanwhile."""
        key = (row.platform, row.destination)
        if row.id is None or self._final.get(key) != row.id or key in self._again:
            return None
        return key

    async def _fold_followups(self, rows: list[Outbox], now: datetime) -> tuple[int, set[int]]:
        """When more follow-ups are due for a destination than its budget allows, post them
        all as one digest; returns (messages posted, ids settled)."""
        first = rows[0]
        key = (first.platform, first.destination)
        per_minute = self._per_minute(first.channel, first.platform)
        available = self.budget.available(key, now, per_minute)
        if not fold_followups(len(rows), available):
            return 0, set()
        ready = await asyncio.to_thread(
            self._ready_followups, now, first.platform, first.destination
        )
        if not fold_followups(len(ready), available):
            return 0, set()
        reason = burst_reason(per_minute)
        cards = [card_from_outbox(r.kind, r.payload) for r in ready]
        digest = followup_digest([c for c in cards if isinstance(c, FollowUpCard)], reason)
        posted, _ = await self._post_digest(ready, cards, digest)
        return posted, {r.id for r in ready if r.id is not None}

    def _read(self, query: Callable[..., list[Outbox]], *args: object) -> list[Outbox]:
        """Run one outbox query in its own session (called in a worker thread)."""
        with self.db.session() as session:
            return query(session, *args)

    def _ready_followups(self, now: datetime, platform: str, destination: str) -> list[Outbox]:
        with self.db.session() as session:
            every = outbox_store.due_followups(session, now, platform, destination)
            return [r for r in every if _has_posted_alert(session, r)]

    def _reschedule(self, ids: list[int], when: datetime) -> None:
        with self.db.session() as session:
            outbox_store.reschedule(session, ids, when)

    def _per_minute(self, channel: str, platform: str) -> int:
        """The channel's post budget: its own ``max_posts_per_minute``, within what the
        platform declares it can take."""
        channels = self.config().channels if self.config is not None else {}
        known = channels.get(channel)
        adapter = self.adapters.get(platform)
        ceiling = adapter.capabilities.posts_per_minute if adapter else DEFAULT_PER_MINUTE
        return channel_budget(known.max_posts_per_minute if known else None, ceiling)

    async def _deliver_alerts(self, rows: list[Outbox], group_key: str | None) -> tuple[int, int]:
        """Post due alerts of one destination; returns (messages posted, rows settled)."""
        if not rows:
            return 0, 0
        first = rows[0]
        key = (first.platform, first.destination)
        now = self.clock.now()
        per_minute = self._per_minute(first.channel, first.platform)
        plan = plan_alerts(
            len(rows), group_key, self.budget.available(key, now, per_minute), per_minute
        )
        if plan.action is AlertAction.WAIT:
            await asyncio.to_thread(
                self._reschedule,
                [r.id for r in rows if r.id is not None],
                self.budget.next_slot(key, now),
            )
            return 0, 0
        if plan.action is AlertAction.DIGEST:
            return await self._deliver_digest(rows, plan.reason)
        posted = 0
        settled = 0
        for row in rows:
            if not await self._holds(key):
                return posted, settled
            if await self._deliver(row) == "sent":
                posted += 1
            settled += 1
        return posted, settled

    async def _deliver_digest(self, rows: list[Outbox], reason: str) -> tuple[int, int]:
        alerts = [card_from_outbox(r.kind, r.payload) for r in rows]
        digest = digest_of([a for a in alerts if isinstance(a, AlertCard)], reason)
        return await self._post_digest(rows, alerts, digest)

    async def _post_digest(
        self, rows: list[Outbox], cards: list[Card], digest: DigestCard
    ) -> tuple[int, int]:
        """Post ``digest`` standing for ``rows``; they are settled together."""
        first = rows[0]
        adapter = self.adapters.get(first.platform)
        if adapter is None:
            for row in rows:
                await self._failed(row, f"no running adapter for platform {first.platform!r}", None)
            return 0, len(rows)
        if not await self._holds((first.platform, first.destination)):
            return 0, 0
        started = time.monotonic()
        try:
            ref = await adapter.post(first.destination, digest, None)
        except DeliveryError as exc:
            for row in rows:
                await self._failed(row, exc.reason, exc.retry_after, exc.permanent)
            return 0, len(rows)
        except Exception as exc:
            log.exception("posting a digest to %s failed", first.platform)
            for row in rows:
                await self._failed(row, type(exc).__name__, None)
            return 0, len(rows)
        self.budget.record((first.platform, first.destination), self.clock.now())
        if self.metrics is not None:
            self.metrics.delivered(first.platform, time.monotonic() - started)
        for row, card in zip(rows, cards, strict=True):
            release = self._lets_go(row)
            self._after_alert(await asyncio.to_thread(self._sent, row, card, ref, True, release))
        return 1, len(rows)

    async def _deliver(self, row: Outbox) -> str:
        assert row.id is not None
        adapter = self.adapters.get(row.platform)
        if adapter is None:
            await self._failed(row, f"no running adapter for platform {row.platform!r}", None)
            return "failed"
        card = card_from_outbox(row.kind, row.payload)
        thread: PostedRef | None = None
        alert: AlertCard | None = None
        in_digest = False
        if not isinstance(card, AlertCard) and row.conversation_id is not None:
            found = await asyncio.to_thread(self._alert_of, row, card)
            if found is None:
                return "waiting"
            posted, alert = found
            thread = _posted_ref(posted) if posted else None
            in_digest = posted is not None and posted.digest
        key = (row.platform, row.destination)
        now = self.clock.now()
        plan = plan_row(
            status_update=isinstance(card, StatusCard),
            alert_posted=thread is not None,
            alert_in_digest=in_digest,
            capabilities=adapter.capabilities,
            available=self.budget.available(key, now, self._per_minute(row.channel, row.platform)),
        )
        edit = plan.edit
        if not plan.threaded:
            thread = None
        if plan.wait:
            await asyncio.to_thread(self._reschedule, [row.id], self.budget.next_slot(key, now))
            return "waiting"
        if not await self._holds(key):
            return "waiting"
        started = time.monotonic()
        try:
            if edit:
                assert isinstance(card, StatusCard) and thread is not None
                await adapter.update(row.destination, thread, alert, card)
                ref = thread
            else:
                ref = await self._post_once(adapter, row, card, thread)
                self.budget.record(key, now)
        except DeliveryError as exc:
            await self._failed(row, exc.reason, exc.retry_after, exc.permanent)
            return "failed"
        except Exception as exc:
            log.exception("posting outbox row %s to %s failed", row.id, row.platform)
            await self._failed(row, f"{type(exc).__name__}", None)
            return "failed"
        if self.metrics is not None:
            self.metrics.delivered(row.platform, time.monotonic() - started)
        release = self._lets_go(row)
        self._after_alert(await asyncio.to_thread(self._sent, row, card, ref, False, release))
        return "sent"

    async def _post_once(
        self, adapter: ChatAdapter, row: Outbox, card: Card, thread: PostedRef | None
    ) -> PostedRef:
        """Post ``row`` at most once across crashes: when an earlier attempt never finished
        (e.g. kill -9 between the platform's answer and marking the row sent), the
        platform is asked first whether the message is already there."""
        assert row.id is not None
        if not adapter.finds_posts:
            return await adapter.post(row.destination, card, thread)
        key = f"crmbot-outbox-{row.id}"
        if row.post_started_at is not None:
            since = row.post_started_at - POST_LOOKUP_MARGIN
            found = await adapter.find_post(row.destination, key, thread, since)
            if found is not None:
                log.info("outbox row %s was already posted before a restart", row.id)
                return found
        if row.id in self._pre_started:  # marked when the lease was taken
            self._pre_started.discard(row.id)
        else:
            await asyncio.to_thread(self._mark_post_started, row.id)
        return await adapter.post_once(row.destination, card, thread, key)

    def _mark_post_started(self, row_id: int) -> None:
        with self.db.transaction() as conn:
            outbox_store.mark_post_started(conn, [row_id], self.clock.now())

    def _alert_of(
        self, row: Outbox, card: Card
    ) -> tuple[PostedAlert | None, AlertCard | None] | None:
        """Where the row's conversation alert landed (and, for a status to edit in, the
        alert as posted); None while that alert is still waiting to be posted."""
        assert row.conversation_id is not None
        alert: AlertCard | None = None
        with self.db.session() as session:
            posted = outbox_store.posted_alert(
                session, row.conversation_id, row.platform, row.destination
            )
            if posted is None and outbox_store.alert_pending(
                session, row.conversation_id, row.platform, row.destination
            ):
                return None
            if posted is not None and isinstance(card, StatusCard) and not posted.digest:
                payload = outbox_store.sent_alert_payload(
                    session, row.conversation_id, row.platform, row.destination
                )
                alert = AlertCard.from_payload(payload) if payload is not None else None
        return posted, alert

    async def _failed(
        self, row: Outbox, reason: str, retry_after: float | None, permanent: bool = False
    ) -> None:
        await asyncio.to_thread(self._fail, row, reason, retry_after, permanent)

    def _after_alert(self, alerted: tuple[int, int, datetime] | None) -> None:
        """Run the after-alert hooks (escalation timers, suggestions) on the event loop,
        once a conversation's first alert went out."""
        if alerted is None:
            return
        hooks = [self.on_alerted] if self.on_alerted is not None else []
        for hook in [*hooks, *self.after_alert]:
            try:
                hook(*alerted)
            except Exception:
                log.exception("after-alert hook failed for conversation %s", alerted[0])

    def _sent(
        self,
        row: Outbox,
        card: Card,
        ref: PostedRef,
        digest: bool = False,
        release: tuple[str, str] | None = None,
    ) -> tuple[int, int, datetime] | None:
        """Mark ``row`` sent (in a worker thread), and let the ``release`` destination's
        lease go in the same transaction; returns (conversation, cycle, time) when it was
        the conversation's first alert, for :meth:`_after_alert`."""
        now = self.clock.now()
        if release is not None:
            self._leases.pop(release, None)
        with self.db.transaction() as conn:
            if release is not None:
                leases.release(conn, *release, self.holder)
            alerted = record_sent(conn, row, isinstance(card, AlertCard), ref, digest, now)
        return (*alerted, now) if alerted is not None else None

    def _fail(
        self, row: Outbox, reason: str, retry_after: float | None, permanent: bool = False
    ) -> None:
        """Count a failed attempt: retry later with backoff, or, for an error that will
        never go away (unknown channel, missing permission), dead-letter the row at once.
        Either way the admins hear of it (after FALLBACK_AFTER attempts, or now)."""
        now = self.clock.now()
        reason = reason[:MAX_ERROR_LENGTH]
        if self.metrics is not None:
            self.metrics.failed(reason, retry_after)
        with self.db.session() as session:
            stored = session.get(Outbox, row.id)
            assert stored is not None
            stored.attempts += 1
            stored.last_error = reason
            delay = self.backoff.delay(stored.attempts, retry_after)
            if permanent:
                stored.status = OutboxStatus.DEAD
            else:
                stored.next_attempt_at = now + timedelta(seconds=delay)
            session.add(stored)
            attempts = stored.attempts
        if (permanent or attempts == FALLBACK_AFTER) and self.on_repeated_failure is not None:
            try:
                self.on_repeated_failure(row, reason, permanent)
            except Exception:
                log.exception("fallback for outbox row %s failed", row.id)
        if permanent:
            log.error(
                "outbox row %s to %s:%s dead-lettered (will not work without a fix): %s",
                row.id,
                row.platform,
                row.destination,
                reason,
            )
            return
        log.warning(
            "outbox row %s to %s:%s failed (attempt %d, retry in %.0fs): %s",
            row.id,
            row.platform,
            row.destination,
            attempts,
            delay,
            reason,
        )
