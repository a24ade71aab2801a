"""Reading stored mentions back (replays, reports)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from storage.ingest_sql import table
from storage.models import Author, Mention


@dataclass(frozen=True, slots=True)
class StoredMention:
    """A mention with the author facts rules look at."""

    id: int
    source: str
    platform: str
    text: str
    lang: str | None
    sentiment: float
    handle: str | None
    followers: int
    received_at: datetime


def mentions_since(conn: Connection, since: datetime, batch: int = 2000) -> Iterator[StoredMention]:
    """Mentions received since ``since``, oldest first, streamed in batches."""
    m, a = table(Mention), table(Author)
    last_id = 0
    while True:
        rows = conn.execute(
            select(
                m.c.id,
                m.c.source,
                m.c.platform,
                m.c.text,
                m.c.lang,
                m.c.sentiment,
                a.c.handle,
                a.c.followers,
                m.c.received_at,
            )
            .select_from(m.outerjoin(a, a.c.id == m.c.author_id))
            .where(m.c.received_at >= since, m.c.id > last_id)
            .order_by(m.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield StoredMention(*row[:7], followers=row[7] or 0, received_at=row[8])
        last_id = rows[-1][0]


def newest_mention(session: Session, conversation_id: int) -> Mention | None:
    """The conversation's newest customer post: the one a reply answers."""
    return session.exec(
        orm_select(Mention)
        .where(Mention.conversation_id == conversation_id)
        .order_by(col(Mention.posted_at).desc(), col(Mention.id).desc())
        .limit(1)
    ).first()
