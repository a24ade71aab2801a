"""Engines and sessions: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage import json_codec

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys.

    ``hide_parameters``: a failed statement's error never carries the values it was given
    (an author's email or text would otherwise reach the logs with the traceback)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
            json_serializer=json_codec.dumps,
            json_deserializer=json_codec.loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout (a tenth of a webhook's
    # time on PostgreSQL). A connection that died since its last use fails its statement
    # instead; SQLAlchemy then drops the pool's stale connections, and that one request
    # answers 503 (bot/sources/webhooks.py) or is retried by its worker.
    return create_engine(
        url,
        hide_parameters=True,
        json_serializer=json_codec.dumps,
        json_deserializer=json_codec.loads,
    )


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Owns the engine; hands out sessions and transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # SQLite has one writer at a time and makes a blocked writer sleep-poll (up to tens
        # of ms per try); queueing this process's transactions on a lock instead hands the
        # database over the moment the previous transaction ends.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def _serialized(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._serialized(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def scratch(self) -> Iterator[Session]:
        """A session whose transaction is always rolled back: nothing it does is kept
        (e.g. running statements once at start so their compiled form is cached)."""
        with self._serialized(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in a transaction (committed on success)."""
        with self._serialized(), self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
