"""Whole-batch statements for SQLite: tuples prepared column by column, sent as they are.

Through ``conn.execute(insert(t), rows)`` SQLAlchemy builds a parameter dictionary per
row and runs every value through its type's processor one row at a time: on the ingest
path that bookkeeping cost more than SQLite spent storing the rows. Here each column's
values go through the same processors (storage/ingest_bulk.py's :func:`column_arrays`,
so UTC datetimes, enum text and JSON are stored exactly as ``insert(t)`` stores them),
and the rows reach the driver as one ``executemany`` of plain tuples with ``?``
placeholders. Inserts that must return ids use multi-row ``VALUES ... RETURNING`` in
chunks below SQLite's bound-variable limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table

from storage.ingest_bulk import Row, column_arrays, columns_of, quoted

# SQLite (3.32 and later) allows 32,766 bound variables per statement.
_MAX_VARIABLES = 32_766


def insert(
    conn: Connection, t: Table, rows: Sequence[Row], returning: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (all with the same keys); the ``returning`` columns of the new rows
    (in no particular order), or nothing when none are asked for."""
    if not rows:
        return []
    columns = columns_of(t, rows)
    values = list(zip(*column_arrays(conn, columns, rows), strict=True))
    names = ", ".join(quoted(conn, c.name) for c in columns)
    head = f"INSERT INTO {quoted(conn, t.name)} ({names}) VALUES "
    one = "(" + ", ".join("?" * len(columns)) + ")"
    if not returning:
        conn.exec_driver_sql(head + one, values)
        return []
    back = " RETURNING " + ", ".join(quoted(conn, name) for name in returning)
    per = max(1, _MAX_VARIABLES // len(columns))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        flat = tuple(v for row in chunk for v in row)
        result = conn.exec_driver_sql(head + ", ".join([one] * len(chunk)) + back, flat)
        found.extend(tuple(r) for r in result.all())
    if len(found) != len(rows):
        raise RuntimeError(f"inserted {len(found)} of {len(rows)} rows into {t.name}")
    return found


def update(conn: Connection, t: Table, rows: Sequence[Row], set_columns: Sequence[str]) -> None:
    """``UPDATE t SET col = ? ... WHERE id = ?`` for all ``rows`` (each has ``id`` and the
    ``set_columns``), one executemany."""
    if not rows:
        return
    columns = [*(t.c[name] for name in set_columns), t.c.id]
    values = list(zip(*column_arrays(conn, columns, rows), strict=True))
    sets = ", ".join(f"{quoted(conn, name)} = ?" for name in set_columns)
    conn.exec_driver_sql(f"UPDATE {quoted(conn, t.name)} SET {sets} WHERE id = ?", values)
