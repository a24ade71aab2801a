"""The retention job: apply ``[retention]`` at ``now`` (the scheduler runs it daily)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from handlers.config import RetentionConfig
from storage import audit
from storage import retention as store
from storage.db import Database

log = logging.getLogger(__name__)

_STEPS: dict[str, Callable[[Connection, datetime], dict[str, int]]] = {
    "mentions": store.expire_mentions,
    "crm_events": store.expire_crm_events,
    "outbox": store.expire_outbox,
    "suggestions": store.expire_suggestions,
    "replies": store.expire_replies,
}


def apply_retention(db: Database, config: RetentionConfig, now: datetime) -> dict[str, int]:
    """Erase/delete what is older than each configured age, in one transaction; returns
    rows changed per kind. A run that changed something leaves an audit line."""
    changed: dict[str, int] = {}
    ages: dict[str, Any] = {}
    with db.transaction() as conn:
        for key, step in _STEPS.items():
            age = getattr(config, key)
            if age is None:
                continue
            ages[key] = int(age.total_seconds())
            changed.update(step(conn, now - age))
        if any(changed.values()):
            audit.record(conn, now, "scheduler", "retention", "", {**changed, "ages_s": ages})
    if any(changed.values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in changed.items() if v))
    return changed
