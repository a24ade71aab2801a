"""Exactly once per delivery: a chat event delivered twice is acted on once.

Chat platforms deliver at least once (Slack retries events with the same ``event_id``; a
replayed request carries the same ``trigger_id``; Discord interactions have ids). The
adapter puts that key on the neutral event (``Command.delivery_id``, ``Action.delivery_id``,
a thread reply's event id); :func:`delivery` makes it current while the event is handled,
and every write path calls :func:`record` inside its transaction: the first delivery
inserts the key together with what it changed, a redelivery finds the key and raises
:class:`AlreadyDone` (a UserError whose reason is what the first delivery answered), so
nothing is recorded twice and the sender hears the same answer again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlmodel import Session

from handlers.errors import UserError
from handlers.safelog import shown
from storage import deliveries
from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

KEEP = timedelta(days=1)  # platforms retry within minutes; a day of keys is plenty
DUPLICATE = "Already done: that request reached me twice and I acted on it once."


@dataclass(slots=True)
class Delivery:
    """The delivery being handled; ``recorded`` once its key is in a transaction."""

    platform: str
    key: str
    recorded: bool = False


class AlreadyDone(UserError):
    """The delivery was acted on before; ``reason`` is what the first one answered."""


_current: ContextVar[Delivery | None] = ContextVar("crmbot_delivery", default=None)


@contextmanager
def delivery(platform: str, key: str | None) -> Iterator[Delivery | None]:
    """Make (platform, key) the current delivery (nothing without a key; an outer one wins)."""
    outer = _current.get()
    if not key or outer is not None:
        yield outer
        return
    current = Delivery(platform, key)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def record(session: Session, now: datetime) -> None:
    """Inside a write transaction: claim the current delivery's key, or raise AlreadyDone."""
    current = _current.get()
    if current is None or current.recorded:
        return
    if deliveries.first_time(session, current.platform, current.key, now):
        current.recorded = True
        return
    log.info("redelivered %s event %s ignored", current.platform, shown(current.key))
    raise AlreadyDone(deliveries.answer_of(session, current.platform, current.key) or DUPLICATE)


def run(
    db: Database,
    platform: str,
    key: str | None,
    work: Callable[[], T],
    answer: Callable[[T], str],
) -> T:
    """Run ``work`` as delivery (platform, key) and remember its answer for redeliveries."""
    outer = _current.get()
    with delivery(platform, key) as current:
        result = work()
        if outer is None and current is not None and current.recorded:
            with db.session() as session:
                deliveries.remember_answer(session, platform, current.key, answer(result))
        return result


def prune(db: Database, now: datetime) -> int:
    """Forget delivery keys older than KEEP (an hourly job); returns how many."""
    with db.session() as session:
        return deliveries.prune(session, now - KEEP)
