"""Accepted configs, newest last: how a reload on one replica reaches the others."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime


class ConfigVersion(SQLModel, table=True):
    """One accepted config file, as text, with its SHA-256."""

    __tablename__ = "config_version"

    id: int | None = Field(default=None, primary_key=True)
    digest: str
    text: str
    published_by: str
    published_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


def publish(session: Session, text: str, digest: str, by: str, now: datetime) -> int:
    """Store an accepted config; returns its version number."""
    row = ConfigVersion(digest=digest, text=text, published_by=by, published_at=now)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def latest(session: Session) -> tuple[int, str] | None:
    """(version, digest) of the newest accepted config (a cheap poll)."""
    row = session.exec(
        select(ConfigVersion.id, ConfigVersion.digest).order_by(col(ConfigVersion.id).desc())
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def text_of(session: Session, version: int) -> str | None:
    """The config text of ``version``."""
    row = session.get(ConfigVersion, version)
    return row.text if row is not None else None
