"""Group concurrent webhook requests into one ingest transaction.

Each request waits for its own result, which it gets only after the transaction that
holds its events has committed (202 still means stored). Requests that arrive while a
commit is under way wait for the next one and are stored together: one commit for many
requests when senders are busy, no added wait when they are not. If a group's
transaction fails, each request in it is retried on its own, so a request the database
refuses (400) or that meets an outage (503) answers only for itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.events import InboundEvent
from handlers.ingest import IngestResult
from handlers.source_port import SourceSink

log = logging.getLogger(__name__)

MAX_GROUP_EVENTS = 500


@dataclass(slots=True)
class _Waiting:
    events: Sequence[InboundEvent]
    answer: asyncio.Future[IngestResult]


class IngestBatcher:
    """Stores requests' events in shared transactions, answering each its own result."""

    def __init__(self, sink: SourceSink, max_events: int = MAX_GROUP_EVENTS) -> None:
        self.sink = sink
        self.max_events = max_events
        self._waiting: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None

    async def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """Store ``events`` (with whatever else is waiting); returns after the commit."""
        answer: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(events, answer))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await answer

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let requests arriving in the same loop pass join
        while self._waiting:
            group = self._take()
            group = [w for w in group if not w.answer.done()]  # the sender went away
            if group:
                await self._store(group)

    def _take(self) -> list[_Waiting]:
        taken: list[_Waiting] = []
        count = 0
        while self._waiting and (
            not taken or count + len(self._waiting[0].events) <= self.max_events
        ):
            waiting = self._waiting.pop(0)
            count += len(waiting.events)
            taken.append(waiting)
        return taken

    async def _store(self, group: list[_Waiting]) -> None:
        try:
            results = await asyncio.to_thread(self.sink.ingest_groups, [w.events for w in group])
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], exc=exc)
                return
            log.warning("a group of %d webhook requests failed: storing each alone", len(group))
            for waiting in group:
                try:
                    result = await asyncio.to_thread(self.sink.ingest, waiting.events)
                except Exception as alone:
                    _settle(waiting, exc=alone)
                else:
                    _settle(waiting, result=result)
            return
        for waiting, result in zip(group, results, strict=True):
            _settle(waiting, result=result)


def _settle(
    waiting: _Waiting, result: IngestResult | None = None, exc: Exception | None = None
) -> None:
    if waiting.answer.done():
        return
    if exc is not None:
        waiting.answer.set_exception(exc)
    else:
        assert result is not None
        waiting.answer.set_result(result)
