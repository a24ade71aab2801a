"""JSON columns through orjson with the standard library behind it: what either encoder
accepts is stored and read back unchanged, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from sqlalchemy import select, text

from storage import migrate
from storage.db import Database
from storage.ingest_sql import table
from storage.json_codec import dumps, loads
from storage.models import Outbox


def test_values_orjson_refuses_still_round_trip() -> None:
    huge = 2**70  # beyond 64 bits: orjson refuses it, the standard library does not
    assert loads(dumps({"n": huge})) == {"n": huge}
    assert loads(dumps({1: "int key"})) == {"1": "int key"}
    assert math.isnan(loads(json.dumps({"x": float("nan")}))["x"])  # as json.dumps wrote it
    assert loads(dumps({"t": "café ✓"})) == {"t": "café ✓"}


def test_payload_columns_keep_what_they_are_given(database_url: str) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    o = table(Outbox)
    payload = {"text": "café ✓ \u2028", "amount": 2**70, "nested": {"a": [1, None, 2.5]}}
    with db.transaction() as conn:
        conn.execute(
            o.insert().values(
                conversation_id=None,
                kind="alert",
                platform="console",
                destination="console",
                channel="social",
                payload=payload,
                created_at=datetime(2026, 11, 30, tzinfo=UTC),
                next_attempt_at=datetime(2026, 11, 30, tzinfo=UTC),
            )
        )
    with db.transaction() as conn:
        assert conn.execute(select(o.c.payload)).scalar_one() == payload
        if db.is_sqlite:  # a payload json.dumps wrote before (NaN and all) still reads
            conn.execute(text("UPDATE outbox SET payload = :p"), {"p": '{"x": NaN}'})
            assert math.isnan(conn.execute(select(o.c.payload)).scalar_one()["x"])
    db.dispose()
