"""Set-based SQL for the ingest path: a whole batch per statement, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from storage.models import Author, ContactHandle, Conversation, Cycle, Outbox
from storage.models import Mention as MentionRow
from storage.outbox_types import OutboxStatus

_CHUNK = 400


def table(model: Any) -> Table:
    """The Core table of a SQLModel class."""
    t = model.__table__
    assert isinstance(t, Table)
    return t


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _by_first(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for first, second in keys:
        grouped.setdefault(first, []).append(second)
    return grouped


def existing_keys(
    conn: Connection, model: Any, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (source, external_id) pairs are already stored in ``model``'s table.

    One ``source = ? AND external_id IN (...)`` per source, so both SQLite and
    PostgreSQL walk the unique (source, external_id) index.
    """
    t = table(model)
    found: set[tuple[str, str]] = set()
    for source, ids in _by_first(keys).items():
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(t.c.external_id).where(t.c.source == source, t.c.external_id.in_(chunk))
            )
            found.update((source, r[0]) for r in rows)
    return found


def insert_returning_ids(
    conn: Connection, model: Any, rows: list[dict[str, Any]], key: Sequence[str]
) -> list[int]:
    """Insert ``rows`` (unique on the ``key`` columns) and return their new ids in order.

    Ids come back matched by key rather than by position, which lets SQLAlchemy send the
    whole batch as multi-row INSERT ... RETURNING statements on SQLite and PostgreSQL alike
    (asking for positional order makes SQLite fall back to one statement per row).
    """
    if not rows:
        return []
    t = table(model)
    columns = [t.c[name] for name in key]
    result = conn.execute(insert(t).returning(t.c.id, *columns), rows)
    ids = {tuple(r[1:]): r[0] for r in result}
    return [ids[tuple(row[name] for name in key)] for row in rows]


def insert_many(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` with one executemany."""
    if rows:
        conn.execute(insert(table(model)), rows)


def authors_by_key(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int, int | None]]:
    """(platform, handle) -> (author id, followers, contact id) for known authors."""
    t = table(Author)
    found: dict[tuple[str, str], tuple[int, int, int | None]] = {}
    for platform, handles in _by_first(keys).items():
        for chunk in _chunks(handles):
            rows = conn.execute(
                select(t.c.handle, t.c.id, t.c.followers, t.c.contact_id).where(
                    t.c.platform == platform, t.c.handle.in_(chunk)
                )
            )
            for handle, author_id, followers, contact_id in rows:
                found[(platform, handle)] = (author_id, followers, contact_id)
    return found


def contacts_by_handle(conn: Connection, handles: Sequence[str]) -> dict[str, int]:
    """handle -> contact id, for the handles that belong to a known contact."""
    t = table(ContactHandle)
    found: dict[str, int] = {}
    for chunk in _chunks(handles):
        for handle, contact_id in conn.execute(
            select(t.c.handle, t.c.contact_id).where(t.c.handle.in_(chunk))
        ):
            found[handle] = contact_id
    return found


def update_authors(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Refresh followers and influence of known authors (keys: b_id, b_followers, b_influence,
    b_updated_at)."""
    if not rows:
        return
    t = table(Author)
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            followers=bindparam("b_followers"),
            influence=bindparam("b_influence"),
            updated_at=bindparam("b_updated_at"),
        ),
        rows,
    )


def latest_conversations(
    conn: Connection, keys: Sequence[str], resolved_since: datetime
) -> dict[str, dict[str, Any]]:
    """For each thread key, its open conversation, else the one resolved most recently
    after ``resolved_since`` (a candidate for reopening)."""
    t = table(Conversation)
    best: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        rows = conn.execute(
            select(
                t.c.id,
                t.c.key,
                t.c.status,
                t.c.cycle,
                t.c.channels,
                t.c.mention_count,
                t.c.source,
                t.c.severity,
                t.c.team,
                t.c.resolved_at,
                t.c.author_id,
                t.c.sentiment,
                t.c.sentiment_by,
            )
            .where(t.c.key.in_(chunk))
            .where((t.c.status != "resolved") | (t.c.resolved_at >= resolved_since))
        )
        for row in rows:
            data = dict(row._mapping)
            current = best.get(data["key"])
            if current is None or _prefer(data, current):
                best[data["key"]] = data
    return best


def _prefer(candidate: dict[str, Any], current: dict[str, Any]) -> bool:
    candidate_open = bool(candidate["status"] != "resolved")
    current_open = bool(current["status"] != "resolved")
    if candidate_open != current_open:
        return candidate_open
    return bool(candidate["id"] > current["id"])


def bump_conversations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Apply new mention counts, activity times and sentiment (keys: b_id, b_count, b_at,
    b_sentiment, b_sentiment_by)."""
    if not rows:
        return
    t = table(Conversation)
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            mention_count=bindparam("b_count"),
            last_activity_at=bindparam("b_at"),
            sentiment=bindparam("b_sentiment"),
            sentiment_by=bindparam("b_sentiment_by"),
        ),
        rows,
    )


__all__ = [
    "MentionRow",
    "authors_by_key",
    "bump_conversations",
    "contacts_by_handle",
    "existing_keys",
    "insert_many",
    "insert_returning_ids",
    "latest_conversations",
    "table",
    "update_authors",
]


def reopen_conversations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Mark conversations open again in a new cycle (keys: b_id, b_cycle)."""
    if not rows:
        return
    t = table(Conversation)
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(status="open", cycle=bindparam("b_cycle"), assignee_id=None, resolved_at=None),
        rows,
    )


def group_state(conn: Connection, group_key: str) -> tuple[datetime | None, datetime | None]:
    """(due time of the group's pending alerts, when the group was last posted)."""
    t = table(Outbox)
    pending = conn.execute(
        select(func.min(t.c.next_attempt_at)).where(
            t.c.group_key == group_key, t.c.status == OutboxStatus.PENDING
        )
    ).scalar()
    sent = conn.execute(
        select(func.max(t.c.sent_at)).where(
            t.c.group_key == group_key, t.c.status == OutboxStatus.SENT
        )
    ).scalar()
    return pending, sent


def open_spikes(conn: Connection) -> list[tuple[int, dict[str, str]]]:
    """(id, labels) of spike alerts that are not resolved."""
    t = table(Conversation)
    rows = conn.execute(
        select(t.c.id, t.c.labels).where(t.c.kind == "spike", t.c.status != "resolved")
    )
    return [(row[0], dict(row[1])) for row in rows]


def cycles_received(
    conn: Connection, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], datetime]:
    """(conversation id, cycle n) -> when that cycle was received."""
    t = table(Cycle)
    found: dict[tuple[int, int], datetime] = {}
    wanted = set(pairs)
    ids = sorted({conv_id for conv_id, _ in pairs})
    for chunk in _chunks(ids):
        for conv_id, n, received in conn.execute(
            select(t.c.conversation_id, t.c.n, t.c.received_at).where(
                t.c.conversation_id.in_(chunk)
            )
        ):
            if (conv_id, n) in wanted:
                found[(conv_id, n)] = received
    return found
