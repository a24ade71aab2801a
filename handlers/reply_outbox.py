"""The publish worker's database steps (bot/publishing.py runs them off the event loop).

Claim a due reply; mark that a call to the platform is starting (``post_started_at``);
record the outcome: published (the ``replied`` handling event credited to the author,
with the public link and the approver, a :class:`ReplyCard` with the link in the thread),
or a failed attempt (retried later, or failed for good with the reason in the thread and
a notice to the admins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from handlers import actions
from handlers.cards import NoticeCard
from handlers.context import BotContext
from handlers.ids import reply_ref
from handlers.platform_names import platform_name
from handlers.publish_port import OutboundReply, Published
from handlers.publishing import card_of, outbound
from storage import conversations
from storage import replies as store
from storage.models import Staff

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Claimed:
    """A reply this worker holds: what to publish, and whether an earlier attempt may
    already have reached the platform (then the worker asks the platform first)."""

    reply: OutboundReply
    maybe_published: bool
    attempts: int


def claim_due(ctx: BotContext, holder: str, ttl: timedelta, limit: int = 20) -> list[Claimed]:
    """Take the due queued replies no other worker holds."""
    now = ctx.clock.now()
    claimed: list[Claimed] = []
    with ctx.db.session() as session:
        ids = store.due_ids(session, now, limit)
    for reply_id in ids:
        with ctx.db.session() as session:
            if not store.claim(session, reply_id, holder, now, ttl):
                continue
            row = store.get(session, reply_id)
            assert row is not None
            session.refresh(row)
            claimed.append(
                Claimed(outbound(session, row), row.post_started_at is not None, row.attempts)
            )
    return claimed


def mark_started(ctx: BotContext, reply_id: int) -> None:
    """Committed before the platform is called: from now on the reply may be out there."""
    with ctx.db.session() as session:
        row = store.get(session, reply_id)
        assert row is not None
        row.post_started_at = ctx.clock.now()
        session.add(row)


def published(ctx: BotContext, reply_id: int, result: Published) -> None:
    """The platform has the reply: record it as the author's reply to the customer."""
    auto_claimed = False
    with ctx.db.session() as session:
        row = store.lock(session, reply_id)
        assert row is not None
        if row.state == "published":
            return
        conversation = conversations.lock(session, row.conversation_id)
        author = session.get(Staff, row.author_id)
        assert conversation is not None and author is not None
        approver = session.get(Staff, row.approver_id) if row.approver_id else None
        now = ctx.clock.now()
        row.state, row.published_at = "published", now
        row.external_id, row.url = result.external_id, result.url
        row.claimed_by = row.claimed_until = None
        row.last_error = None
        session.add(row)
        detail = {
            "url": result.url,
            "reply_id": reply_id,
            "approver": approver.name if approver else None,
        }
        where = f" on {platform_name(row.platform)}"
        auto_claimed = actions.record_reply(
            ctx, session, author, conversation, row.text, detail, where
        )
        ctx.queue(session, card_of(session, row, ctx.config), list(conversation.channels))
    log.info("reply %s published on %s", reply_ref(reply_id), row.platform)
    ctx.on_queued()
    if auto_claimed:
        ctx.on_claimed(row.conversation_id)


def attempt_failed(
    ctx: BotContext,
    reply_id: int,
    reason: str,
    *,
    permanent: bool,
    retry_in: float,
    max_attempts: int,
) -> bool:
    """Count a failed attempt: retry in ``retry_in`` seconds, or, when ``permanent`` or
    out of attempts, fail it for good (the reason in the thread, a notice to the admins).
    Returns whether it failed for good."""
    reason = reason[:MAX_ERROR_LENGTH]
    with ctx.db.session() as session:
        row = store.lock(session, reply_id)
        assert row is not None
        if row.state != "queued":
            return row.state == "failed"
        now = ctx.clock.now()
        row.attempts += 1
        row.last_error = reason
        row.claimed_by = row.claimed_until = None
        dead = permanent or row.attempts >= max_attempts
        if dead:
            row.state = "failed"
        else:
            row.next_attempt_at = now + timedelta(seconds=retry_in)
        session.add(row)
        if dead:
            ctx.queue(session, card_of(session, row, ctx.config), _channels(session, row))
            admins = ctx.config.alerts.admin_channel
            if admins is not None:
                text = (
                    f"Reply {reply_ref(reply_id)} on #{row.conversation_id} to "
                    f"{platform_name(row.platform)} failed after {row.attempts} attempt(s) "
                    f"and will not be retried: {reason}"
                )
                ctx.queue(session, NoticeCard(conversation_id=None, text=text), [admins])
    if dead:
        log.error("reply %s failed for good: %s", reply_ref(reply_id), reason)
        ctx.on_queued()
    else:
        log.warning(
            "reply %s failed (attempt %d, retry in %.0fs): %s",
            reply_ref(reply_id),
            row.attempts,
            retry_in,
            reason,
        )
    return dead


def release(ctx: BotContext, reply_id: int) -> None:
    """Give a claimed reply back untouched (the worker is stopping)."""
    with ctx.db.session() as session:
        row = store.get(session, reply_id)
        if row is not None and row.state == "queued":
            row.claimed_by = row.claimed_until = None
            session.add(row)


def _channels(session: Session, row: store.SocialReply) -> list[str]:
    conversation = conversations.get(session, row.conversation_id)
    return list(conversation.channels) if conversation is not None else []
