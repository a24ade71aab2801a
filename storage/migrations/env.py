"""Alembic environment: the engine comes from the caller (see storage.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.kb_search import include_object

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # replicas starting together: one migrates, the others wait and find nothing to do
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('crmbot-migrate:' || current_schema()))")
        )
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,  # the search index is per database, not a model
    )
    context.run_migrations()
