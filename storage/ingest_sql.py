"""Set-based SQL for the ingest path: a whole batch per statement, inside the caller's transaction.

On PostgreSQL lookups and writes send each column as one array (storage/ingest_bulk.py):
one short statement per step whatever the batch size. On SQLite writes are one
executemany of tuples prepared column by column (storage/ingest_bulk_sqlite.py). The
batch's lookups are one statement on either (storage/ingest_lookup.py). The rows are
typed in storage/ingest_rows.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    func,
    select,
)

from storage import ingest_bulk as bulk
from storage import ingest_bulk_sqlite as lite
from storage.ingest_rows import (
    AuthorRefresh,
    ConversationBump,
    ConversationReopen,
    FoundConversation,
    NewAuthor,
)
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


def _is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _bulk(conn: Connection) -> ModuleType:
    """The whole-batch statements for ``conn``'s database (both modules offer the same
    ``insert`` and ``update``)."""
    return bulk if _is_pg(conn) else lite


def insert_returning_ids(
    conn: Connection, model: Any, rows: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> list[int]:
    """Insert ``rows`` (unique on the ``key`` columns) and return their new ids in order.

    Ids come back matched by key rather than by position: neither PostgreSQL's
    ``INSERT ... SELECT ... RETURNING`` nor SQLite's multi-row ``RETURNING`` promises
    the rows' order.
    """
    if not rows:
        return []
    t = table(model)
    ids = {tuple(r[1:]): r[0] for r in _bulk(conn).insert(conn, t, rows, returning=("id", *key))}
    return [ids[tuple(row[name] for name in key)] for row in rows]


def insert_many(conn: Connection, model: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one statement (one executemany on SQLite)."""
    if not rows:
        return
    _bulk(conn).insert(conn, table(model), rows)


def contacts_by_handle(conn: Connection, handles: Sequence[str]) -> dict[str, int]:
    """handle -> contact id, for the handles that belong to a known contact."""
    t = table(ContactHandle)
    found: dict[str, int] = {}
    if not handles:
        return found
    if _is_pg(conn):
        rows = conn.exec_driver_sql(
            "SELECT handle, contact_id FROM contact_handle WHERE handle = ANY(%b::VARCHAR[])",
            (list(handles),),
        )
        return {r[0]: r[1] for r in rows}
    for chunk in _chunks(handles):
        for handle, contact_id in conn.execute(
            select(t.c.handle, t.c.contact_id).where(t.c.handle.in_(chunk))
        ):
            found[handle] = contact_id
    return found


_AUTHOR_REFRESH = ("followers", "influence", "updated_at")


def write_authors(
    conn: Connection, new: Sequence[NewAuthor], changes: Sequence[AuthorRefresh]
) -> list[int]:
    """Insert the ``new`` authors and refresh the ``changes``d ones; the new authors' ids
    in order. One statement on PostgreSQL (``WITH done AS (UPDATE ...) INSERT ...``)."""
    if not _is_pg(conn) or not new or not changes:
        new_ids = insert_returning_ids(conn, Author, new, key=("platform", "handle"))
        update_authors(conn, changes)
        return new_ids
    t = table(Author)
    refresh = bulk.update_statement(conn, t, [_values(c) for c in changes], _AUTHOR_REFRESH)
    found = bulk.insert(conn, t, new, returning=("id", "platform", "handle"), after=refresh)
    ids = {(r[1], r[2]): r[0] for r in found}
    return [ids[(row["platform"], row["handle"])] for row in new]


def update_authors(conn: Connection, changes: Sequence[AuthorRefresh]) -> None:
    """Refresh followers and influence of known authors."""
    if not changes:
        return
    update_rows(conn, Author, [_values(c) for c in changes], _AUTHOR_REFRESH)


def update_rows(
    conn: Connection, model: Any, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> None:
    """Set ``columns`` of existing rows (each row has ``id`` and those columns), in one
    statement for the whole batch."""
    _bulk(conn).update(conn, table(model), rows, columns)


def _values(change: Any) -> dict[str, Any]:
    """A change's fields by name (a shallow ``dataclasses.asdict``, which deep-copies)."""
    return {name: getattr(change, name) for name in change.__slots__}


def prefer(candidate: FoundConversation, current: FoundConversation) -> bool:
    """Whether ``candidate`` is the conversation a thread continues rather than ``current``:
    an open one before a resolved one, else the newer."""
    candidate_open = candidate.status != "resolved"
    current_open = current.status != "resolved"
    if candidate_open != current_open:
        return candidate_open
    return candidate.id > current.id


def bump_conversations(conn: Connection, changes: Sequence[ConversationBump]) -> None:
    """Apply new mention counts, activity times and sentiment."""
    if not changes:
        return
    names = ("mention_count", "last_activity_at", "sentiment", "sentiment_by")
    update_rows(conn, Conversation, [_values(c) for c in changes], names)


__all__ = [
    "MentionRow",
    "bump_conversations",
    "contacts_by_handle",
    "insert_many",
    "insert_returning_ids",
    "table",
    "update_authors",
    "update_rows",
]


def reopen_conversations(conn: Connection, changes: Sequence[ConversationReopen]) -> None:
    """Mark conversations open again in a new cycle."""
    if not changes:
        return
    rows = [
        {"id": c.id, "cycle": c.cycle, "status": "open", "assignee_id": None, "resolved_at": None}
        for c in changes
    ]
    update_rows(conn, Conversation, rows, ("cycle", "status", "assignee_id", "resolved_at"))


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
