"""Alembic migrations applied programmatically (``crmbot db upgrade`` and at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    """An Alembic config pointing at the packaged migrations and at ``db``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (default: every head)."""
    command.upgrade(alembic_config(db), revision)


def head_revision() -> str | None:
    """The newest migration shipped with this version ("a+b" if history has branched)."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = sorted(ScriptDirectory.from_config(cfg).get_heads())
    return "+".join(heads) if heads else None


def current_revision(db: Database) -> str | None:
    """The revision the database is at ("a+b" on branches), None when never migrated."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        heads = sorted(MigrationContext.configure(conn).get_current_heads())
    return "+".join(heads) if heads else None
