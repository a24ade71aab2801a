"""How JSON columns are written and read: orjson, with the standard library behind it.

orjson encodes a card payload several times faster than ``json.dumps``, which showed on
the ingest path (every alert's outbox row carries one). What it refuses falls back to the
standard library, so nothing that stored before fails now: integers beyond 64 bits on
the way in, and ``NaN`` written by ``json.dumps`` in rows stored before on the way out.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """``value`` as JSON text."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
