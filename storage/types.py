"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel.sql.sqltypes import AutoString


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend and always returns aware UTC datetimes.

    PostgreSQL gets ``timestamp without time zone``. On SQLite the value is written
    directly as fixed-width ISO text (``YYYY-MM-DD HH:MM:SS.ffffff``, the layout
    SQLAlchemy's own SQLite DATETIME uses), so text order is time order; doing the
    formatting here with the C ``isoformat`` instead of SQLAlchemy's generic
    processor halves the per-row cost of the ingest path's inserts.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if value.utcoffset():
            value = value.astimezone(UTC)
        naive = value.replace(tzinfo=None)
        if dialect.name == "sqlite":
            return naive.isoformat(" ", "microseconds")
        return naive

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


E = TypeVar("E", bound=StrEnum)


class StrEnumText(TypeDecorator[E]):
    """A StrEnum stored as its plain string value (a text column, no database enum type,
    so adding a member needs no migration); rows read back as members."""

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)
