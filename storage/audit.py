"""The audit log: who asked for what, when (forget requests, retention runs).

A forget request must not keep what it erased, so its subject is stored as a SHA-256
digest of ``platform:handle``: enough to answer "was @x forgotten, and by whom?" for
someone who knows the handle, and nothing for anyone else.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, insert
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """One audited request."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default=None, sa_type=UTCDateTime(), nullable=False, index=True)
    actor: str  # who asked: "cli:<os user>", "slack:U123 (@lead)", "scheduler"
    action: str  # forget | retention
    subject: str = ""  # e.g. the digest of the forgotten handle
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def subject_digest(platform: str | None, handle: str) -> str:
    """``sha256:<hex>`` of ``platform:handle`` (platform ``*`` when every platform)."""
    raw = f"{platform or '*'}:{handle}".encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def record(
    conn: Connection, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> int:
    """Append an audit line (in the caller's transaction); returns its id."""
    t = AuditEntry.__table__  # type: ignore[attr-defined]
    values = {"at": at, "actor": actor, "action": action, "subject": subject, "detail": detail}
    return int(conn.execute(insert(t).values(**values).returning(t.c.id)).scalar_one())


def recent(session: Session, limit: int = 50) -> list[AuditEntry]:
    """The newest audit lines first."""
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)))
