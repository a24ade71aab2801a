"""Sentiment after ingest: mentions waiting for the model, new labels, and the alert
cards that show a conversation's sentiment (so a re-label redraws them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from storage.ingest_sql import table, update_rows
from storage.models import Conversation, Outbox, Staff
from storage.models import Mention as MentionRow
from storage.outbox_types import OutboxStatus

OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Pending:
    """A mention labelled offline, waiting for the model."""

    id: int
    text: str
    lang: str | None
    sentiment: float


@dataclass(frozen=True, slots=True)
class Redraw:
    """A conversation whose alert cards must show a new sentiment."""

    conversation_id: int
    status: str
    assignee: str | None
    channels: tuple[str, ...]


def pending(conn: Connection, after_id: int, since: datetime, limit: int) -> list[Pending]:
    """Mentions still labelled offline, received since ``since``, with id above ``after_id``."""
    t = table(MentionRow)
    rows = conn.execute(
        select(t.c.id, t.c.text, t.c.lang, t.c.sentiment)
        .where(t.c.id > after_id, t.c.sentiment_by == OFFLINE, t.c.received_at >= since)
        .order_by(t.c.id)
        .limit(limit)
    )
    return [Pending(r.id, r.text, r.lang, r.sentiment) for r in rows]


def relabel_mentions(conn: Connection, labels: Sequence[tuple[int, float, str]]) -> None:
    """Store (mention id, score, labeller)."""
    _set_sentiment(conn, MentionRow, labels)


def _set_sentiment(conn: Connection, model: Any, values: Sequence[tuple[int, float, str]]) -> None:
    if not values:
        return
    t = table(model)
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(sentiment=bindparam("b_score"), sentiment_by=bindparam("b_by")),
        [{"b_id": i, "b_score": s, "b_by": by} for i, s, by in values],
    )


def conversations_led_by(conn: Connection, mention_ids: Sequence[int]) -> dict[int, int]:
    """mention id -> conversation id, for the mentions that set their conversation's
    sentiment: the latest mention by the conversation's own author."""
    if not mention_ids:
        return {}
    m, c = table(MentionRow), table(Conversation)
    convs = sorted(
        {
            conv_id
            for (conv_id,) in conn.execute(
                select(m.c.conversation_id).where(
                    m.c.id.in_(list(mention_ids)), m.c.conversation_id.is_not(None)
                )
            )
        }
    )
    if not convs:
        return {}
    latest = conn.execute(
        select(m.c.conversation_id, func.max(m.c.id))
        .join(c, c.c.id == m.c.conversation_id)
        .where(m.c.conversation_id.in_(convs), m.c.author_id == c.c.author_id)
        .group_by(m.c.conversation_id)
    ).all()
    wanted = set(mention_ids)
    return {mention_id: conv_id for conv_id, mention_id in latest if mention_id in wanted}


def conversation_sentiments(conn: Connection, ids: Sequence[int]) -> dict[int, float]:
    """Current stored sentiment of each conversation."""
    if not ids:
        return {}
    c = table(Conversation)
    rows = conn.execute(select(c.c.id, c.c.sentiment).where(c.c.id.in_(list(ids))))
    return {r.id: r.sentiment for r in rows}


def set_conversation_sentiment(conn: Connection, values: Sequence[tuple[int, float, str]]) -> None:
    """Store (conversation id, score, labeller)."""
    _set_sentiment(conn, Conversation, values)


def restate_alerts(conn: Connection, fields: dict[int, dict[str, Any]]) -> list[Redraw]:
    """Put new sentiment ``fields`` into every alert card of those conversations (so
    pending alerts post with them and redraws show them); returns the conversations
    whose alert is already posted, with what a redraw needs."""
    if not fields:
        return []
    o, c, s = table(Outbox), table(Conversation), table(Staff)
    rows = conn.execute(
        select(o.c.id, o.c.conversation_id, o.c.payload, o.c.status, o.c.channel).where(
            o.c.conversation_id.in_(list(fields)), o.c.kind == "alert"
        )
    ).all()
    if rows:
        update_rows(
            conn,
            Outbox,
            [{"id": r.id, "payload": {**r.payload, **fields[r.conversation_id]}} for r in rows],
            ("payload",),
        )
    posted: dict[int, set[str]] = {}
    for row in rows:
        if row.status == OutboxStatus.SENT:
            posted.setdefault(row.conversation_id, set()).add(row.channel)
    if not posted:
        return []
    states = conn.execute(
        select(c.c.id, c.c.status, s.c.name)
        .select_from(c.outerjoin(s, s.c.id == c.c.assignee_id))
        .where(c.c.id.in_(list(posted)))
    ).all()
    return [Redraw(r.id, r.status, r.name, tuple(sorted(posted[r.id]))) for r in states]
