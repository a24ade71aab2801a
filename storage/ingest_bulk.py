"""Whole-batch statements for PostgreSQL: one ``unnest`` of column arrays per statement.

(SQLite's counterpart, plain ``executemany`` of pre-processed tuples, is
storage/ingest_bulk_sqlite.py; both take their values from :func:`column_arrays`.)

SQLAlchemy sends a batch insert to psycopg as multi-row ``VALUES`` with one named
placeholder per value (18,000 for 1,000 conversation rows): psycopg then spends more time
re-parsing that query text than the server spends storing the rows, and an executemany
still sends one statement per row. Here each column travels as one array parameter,
``INSERT ... SELECT * FROM unnest(%b::type[], ...)``, so the query text is short and
fixed (psycopg caches and prepares it) and the whole batch is one round trip. Values go
through the columns' own bind processors first (UTC datetimes, enum text, JSON), and
Python-side column defaults are filled in, so the rows stored are those that
``insert(table)`` would store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table

from storage.types import UTCDateTime

Row = Mapping[str, Any]


_PROCESSORS: dict[tuple[str, Column[Any]], Callable[[Any], Any] | None] = {}


def _processor(conn: Connection, column: Column[Any]) -> Callable[[Any], Any] | None:
    """``column``'s bind processor on ``conn``'s database (built once per column: every
    batch insert asks for each of its columns')."""
    dialect = conn.dialect
    key = (dialect.name, column)
    if key not in _PROCESSORS:
        _PROCESSORS[key] = column.type.dialect_impl(dialect).bind_processor(dialect)
    return _PROCESSORS[key]


def _sql_type(conn: Connection, column: Column[Any]) -> str:
    return str(column.type.compile(dialect=conn.dialect))


def columns_of(t: Table, rows: Sequence[Row]) -> list[Column[Any]]:
    """The given columns, plus those with a Python-side default (filled per row)."""
    given = set(rows[0])
    return [
        c for c in t.columns if c.name in given or (c.default is not None and not c.primary_key)
    ]


def _value(column: Column[Any], row: Row) -> Any:
    if column.name in row:
        return row[column.name]
    default = column.default
    assert default is not None
    if default.is_callable:
        return default.arg(None)  # type: ignore[attr-defined]
    return default.arg  # type: ignore[attr-defined]


def column_arrays(
    conn: Connection, columns: Sequence[Column[Any]], rows: Sequence[Row]
) -> list[list[Any]]:
    """One list of bind-processed values per column, in row order."""
    arrays: list[list[Any]] = []
    for column in columns:
        name = column.name
        try:
            values = [row[name] for row in rows]
        except KeyError:  # not given: the column's Python-side default
            values = [_value(column, row) for row in rows]
        processor = _processor(conn, column)
        if processor is not None and isinstance(column.type, UTCDateTime):
            values = _memoized(processor, values)
        elif processor is not None:
            values = [processor(v) for v in values]
        arrays.append(values)
    return arrays


def _memoized(processor: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """``processor`` applied to each value, once per distinct value: a batch's times are
    mostly the same instant (received, created, last activity)."""
    done: dict[Any, Any] = {}
    out: list[Any] = []
    for value in values:
        if value not in done:
            done[value] = processor(value)
        out.append(done[value])
    return out


def _unnest(conn: Connection, columns: Sequence[Column[Any]]) -> str:
    casts = ", ".join(f"%b::{_sql_type(conn, c)}[]" for c in columns)
    return f"unnest({casts})"


def quoted(conn: Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


Statement = tuple[str, tuple[Any, ...]]


def insert_statement(
    conn: Connection, t: Table, rows: Sequence[Row], returning: Sequence[str] = ()
) -> Statement:
    """``INSERT INTO t (...) SELECT * FROM unnest(...) [RETURNING ...]`` and its arrays."""
    columns = columns_of(t, rows)
    names = ", ".join(quoted(conn, c.name) for c in columns)
    back = ", ".join(quoted(conn, name) for name in returning)
    sql = f"INSERT INTO {quoted(conn, t.name)} ({names}) SELECT * FROM {_unnest(conn, columns)}"
    return (
        sql + (f" RETURNING {back}" if returning else ""),
        tuple(column_arrays(conn, columns, rows)),
    )


def update_statement(
    conn: Connection, t: Table, rows: Sequence[Row], set_columns: Sequence[str]
) -> Statement:
    """``UPDATE t SET col = new.col ... FROM unnest(...) AS new WHERE t.id = new.id``."""
    columns = [t.c.id, *(t.c[name] for name in set_columns)]
    aliases = ", ".join(quoted(conn, c.name) for c in columns)
    table_name = quoted(conn, t.name)
    sets = ", ".join(f"{quoted(conn, n)} = new.{quoted(conn, n)}" for n in set_columns)
    sql = (
        f"UPDATE {table_name} SET {sets} FROM {_unnest(conn, columns)} AS new({aliases}) "
        f"WHERE {table_name}.id = new.id"
    )
    return sql, tuple(column_arrays(conn, columns, rows))


def insert(
    conn: Connection,
    t: Table,
    rows: Sequence[Row],
    returning: Sequence[str] = (),
    after: Statement | None = None,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` in one statement; the ``returning`` columns of the new rows (in no
    particular order). ``after``, an UPDATE of other rows, runs in the same statement
    (``WITH done AS (UPDATE ...) INSERT ...``): one round trip for both."""
    if not rows:
        if after is not None:
            conn.exec_driver_sql(*after)
        return []
    sql, params = insert_statement(conn, t, rows, returning)
    if after is not None:
        sql, params = f"WITH done AS ({after[0]}) {sql}", after[1] + params
    result = conn.exec_driver_sql(sql, params)
    if not returning:
        return []
    found = [tuple(r) for r in result]
    if len(found) != len(rows):
        raise RuntimeError(f"inserted {len(found)} of {len(rows)} rows into {t.name}")
    return found


def update(conn: Connection, t: Table, rows: Sequence[Row], set_columns: Sequence[str]) -> None:
    """``UPDATE t SET col = new.col ... WHERE t.id = new.id`` for all ``rows`` (each has
    ``id`` and the ``set_columns``) in one statement."""
    if rows:
        conn.exec_driver_sql(*update_statement(conn, t, rows, set_columns))
