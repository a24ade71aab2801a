"""Warming the alert path up before the bot says it is ready: the dispatcher's
statements, then the ingest of one webhook event (:func:`warm_up_ingest`).

SQLAlchemy compiles each statement the first time it runs (several ms for the ORM ones)
and caches it; without a warm-up the first alerts after a start pay for that while
holding the SQLite write lock, and every alert queued behind them waits too. This runs
one alert's delivery statements (lease claim, due rows, post budget, marking it sent and
letting the lease go) against a made-up conversation in a transaction that is rolled
back: nothing is kept and nothing is posted.
"""

from __future__ import annotations

import logging
import time

from bot.chat.base import PostedRef
from bot.dispatcher import Dispatcher, record_sent
from handlers.clock import Clock
from handlers.events import Mention
from handlers.ingest import Ingestor
from storage import leases
from storage import outbox as outbox_store
from storage.models import Conversation, Cycle, Outbox
from storage.outbox_types import OutboxKind

log = logging.getLogger(__name__)

PLACE = "crmbot-warm-up"  # platform, destination and keys of the made-up rows


def warm_up(dispatcher: Dispatcher) -> float:
    """Run the delivery statements once (rolled back); returns the seconds it took.
    A failure is logged and ignored: the first alerts are then merely slower."""
    began = time.monotonic()
    now = dispatcher.clock.now()
    try:
        with dispatcher.db.scratch() as session:
            conn = session.connection()
            outbox_store.due_alert_batches(conn, now)
            outbox_store.due_other(conn, now, 1)
            leases.claim(conn, PLACE, PLACE, dispatcher.holder, now, dispatcher.lease_ttl)
            outbox_store.recent_posts(conn, PLACE, PLACE, now)
            outbox_store.due_alert_keys(conn, now, PLACE, PLACE)
            outbox_store.due_alerts(conn, now, PLACE, PLACE, None)
            outbox_store.due_other_of(conn, now, PLACE, PLACE, 1)
            conversation = Conversation(
                key=PLACE, source=PLACE, platform=PLACE, created_at=now, last_activity_at=now
            )
            session.add(conversation)
            session.flush()
            assert conversation.id is not None
            session.add(Cycle(conversation_id=conversation.id, source=PLACE, received_at=now))
            row = Outbox(
                conversation_id=conversation.id,
                kind=OutboxKind.ALERT,
                channel=PLACE,
                platform=PLACE,
                destination=PLACE,
                created_at=now,
                next_attempt_at=now,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            outbox_store.mark_post_started(conn, [row.id], now)
            record_sent(conn, row, True, PostedRef(PLACE, PLACE), False, now)
            leases.release(conn, PLACE, PLACE, dispatcher.holder)
    except Exception:
        log.exception("warming the dispatcher up failed (the first alerts will be slower)")
    return time.monotonic() - began


def warm_up_ingest(ingestor: Ingestor, clock: Clock) -> float:
    """Store a made-up mention the way a webhook's is stored, in a transaction that is
    rolled back (nothing is kept, nothing is posted), so the first real event does not
    compile the ingest statements while holding the write lock; returns the seconds it
    took. A failure is logged and ignored."""
    began = time.monotonic()
    now = clock.now()
    event = Mention(
        source=PLACE,
        external_id=PLACE,
        platform=PLACE,
        author_handle=PLACE,
        text=PLACE,
        posted_at=now,
    )
    try:
        ingestor.rehearse([event])
    except Exception:
        log.exception("warming the ingest up failed (the first events will be slower)")
    return time.monotonic() - began
