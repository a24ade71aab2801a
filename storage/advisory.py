"""A PostgreSQL session advisory lock on a connection of its own.

The lock lives as long as the connection: when the holding process dies (or its
connection breaks), PostgreSQL releases it and another process can take it. The key is
derived from the schema, so deployments (and tests) sharing one server do not collide.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# TCP keepalives: a holder whose host vanished without closing the socket is noticed by
# the server within about 25 s, and its lock released.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext(:name || ':' || current_schema()))"


class AdvisoryLock:
    """Try to take, keep checking and drop one named advisory lock (call from one thread
    at a time)."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self._engine: Engine = create_engine(url, poolclass=NullPool, connect_args=KEEPALIVES)
        self._conn: Connection | None = None
        self._held = False

    def acquire(self) -> bool:
        """Take the lock if it is free, or confirm the connection holding it is alive."""
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                self._conn.execute(text("SELECT 1"))
            else:
                self._held = bool(self._conn.execute(text(TRY_LOCK), {"name": self.name}).scalar())
        except Exception as exc:
            log.warning("advisory lock %r: connection lost (%s)", self.name, type(exc).__name__)
            self.close()
        return self._held

    def close(self) -> None:
        """Drop the connection, and the lock with it."""
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                conn.invalidate()

    def dispose(self) -> None:
        self.close()
        self._engine.dispose()
