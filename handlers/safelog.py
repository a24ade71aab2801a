"""Values from outside (payloads, paths, ids) made safe for a log line."""

from __future__ import annotations

LIMIT = 80


def shown(value: object, limit: int = LIMIT) -> str:
    """``repr(value)`` clipped to ``limit`` characters: control characters, NULs and lone
    surrogates are escaped, and a huge value cannot flood the log."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
