"""Values from outside (payloads, paths, ids) made safe for a log line."""

from __future__ import annotations

LIMIT = 80


def shown(value: object, limit: int = LIMIT) -> str:
    """A plain short string as it is; anything else as ``repr(value)`` clipped to ``limit``
    characters: control characters, NULs and lone surrogates escaped, and a huge value
    cannot flood the log."""
    if isinstance(value, str) and len(value) <= limit and value.isprintable():
        return value
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
