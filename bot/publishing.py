"""The publish worker: sends queued replies to the customer's platform, exactly once.

Like the dispatcher, it wakes when a reply is queued (``BotContext.on_reply_queued``) or
every ``poll_interval``, and runs its database work in worker threads. For each due reply
it holds (a claim that runs out, so several replicas share the queue and a dead one's
replies are taken over):

1. when ``post_started_at`` is already set (an earlier attempt died or timed out after it
   may have reached the platform), ask the platform with :meth:`Publisher.find`; a reply
   found there is recorded as published and never sent again;
2. otherwise set ``post_started_at`` (committed) and call :meth:`Publisher.publish`;
3. record the result: published (the link in the thread, the ``replied`` event), or a
   failed attempt, retried with the dispatcher's backoff (honouring the platform's
   ``retry_after``), or failed for good when permanent or out of attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from bot.backoff import Backoff
from bot.dispatcher import replica_id
from bot.observability import BotMetrics
from handlers import reply_outbox
from handlers.context import BotContext
from handlers.publish_port import Published, PublishError
from handlers.reply_outbox import Claimed

log = logging.getLogger(__name__)

CALL_TIMEOUT = 60.0  # seconds one platform call may take before it counts as failed
CLAIM_TTL = timedelta(seconds=CALL_TIMEOUT * 2 + 30)  # outlives find + publish
MAX_ATTEMPTS = 8


class PublishWorker:
    """Moves queued replies to the platforms through ``ctx.publishers``."""

    def __init__(
        self,
        ctx: BotContext,
        backoff: Backoff | None = None,
        poll_interval: float = 5.0,
        call_timeout: float = CALL_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.ctx = ctx
        self.backoff = backoff or Backoff(base=30.0, cap=3600.0)
        self.poll_interval = poll_interval
        self.call_timeout = call_timeout
        self.max_attempts = max_attempts
        self.holder = replica_id()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining = asyncio.Lock()
        self.metrics: BotMetrics | None = None  # set by the bot

    def wake(self) -> None:
        """Look at the queue now (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish whenever woken or every ``poll_interval`` until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("publish pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    async def drain(self) -> int:
        """Publish every due reply once; returns how many were published."""
        async with self._draining:
            claimed = await asyncio.to_thread(
                reply_outbox.claim_due, self.ctx, self.holder, CLAIM_TTL
            )
            done = 0
            for item in claimed:
                done += await self._one(item)
            return done

    async def _one(self, item: Claimed) -> int:
        reply = item.reply
        publisher = self.ctx.publishers.get(reply.target.source_kind)
        if publisher is None:
            return await self._failed(
                item,
                PublishError(
                    f"no publisher is configured for {reply.target.source_kind} replies",
                    permanent=True,
                ),
            )
        try:
            found: Published | None = None
            if item.maybe_published:
                found = await asyncio.wait_for(publisher.find(reply), self.call_timeout)
            if found is None:
                await asyncio.to_thread(reply_outbox.mark_started, self.ctx, reply.reply_id)
                found = await asyncio.wait_for(publisher.publish(reply), self.call_timeout)
        except PublishError as exc:
            return await self._failed(item, exc)
        except TimeoutError:
            return await self._failed(item, PublishError("the platform did not answer in time"))
        except Exception:
            log.exception("publishing reply r%s raised", reply.reply_id)
            return await self._failed(item, PublishError("an unexpected error (see the log)"))
        await asyncio.to_thread(reply_outbox.published, self.ctx, reply.reply_id, found)
        self._count(item, "published")
        return 1

    def _count(self, item: Claimed, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reply(item.reply.target.source_kind, outcome)

    async def _failed(self, item: Claimed, error: PublishError) -> int:
        dead = await asyncio.to_thread(
            reply_outbox.attempt_failed,
            self.ctx,
            item.reply.reply_id,
            error.reason,
            permanent=error.permanent,
            retry_in=self.backoff.delay(item.attempts + 1, error.retry_after),
            max_attempts=self.max_attempts,
        )
        self._count(item, "failed" if dead else "retried")
        return 0
