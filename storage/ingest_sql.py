"""Set-based SQL for the ingest path: a whole batch per statement, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, tuple_, update

from storage.models import Author, ContactHandle, Conversation
from storage.models import Mention as MentionRow

_CHUNK = 400


def table(model: Any) -> Table:
    """The Core table of a SQLModel class."""
    t = model.__table__
    assert isinstance(t, Table)
    return t


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_keys(
    conn: Connection, model: Any, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (source, external_id) pairs are already stored in ``model``'s table."""
    t = table(model)
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(keys):
        rows = conn.execute(
            select(t.c.source, t.c.external_id).where(
                tuple_(t.c.source, t.c.external_id).in_(chunk)
            )
        )
        found.update((r[0], r[1]) for r in rows)
    return found


def insert_returning_ids(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` and return their new ids in the same order."""
    if not rows:
        return []
    t = table(model)
    result = conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), rows)
    return [r[0] for r in result]


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
    for chunk in _chunks(keys):
        rows = conn.execute(
            select(t.c.platform, t.c.handle, t.c.id, t.c.followers, t.c.contact_id).where(
                tuple_(t.c.platform, t.c.handle).in_(chunk)
            )
        )
        for platform, handle, author_id, followers, contact_id in rows:
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
    """Refresh followers, influence and last_seen of known authors (keys: b_id, ...)."""
    if not rows:
        return
    t = table(Author)
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            followers=bindparam("b_followers"),
            influence=bindparam("b_influence"),
            last_seen=bindparam("b_last_seen"),
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
    """Apply new mention counts and activity times (keys: b_id, b_count, b_at, b_sentiment)."""
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
