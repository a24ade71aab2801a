"""What every poller connector is: ``poll(cursor) -> events + new cursor``, and ``close()``.

A connector is built from its config table and the process environment (where its secrets
are), keeps its HTTP client between polls, and raises :class:`SourceError` with a reason
that is safe to show admins. It never stores anything itself: the polling runtime ingests
the events and then saves the cursor.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.sources.errors import SourceError
from handlers.events import InboundEvent

USER_AGENT = "crmbot/0.1 (social CRM alerts)"


@dataclass(slots=True)
class PollResult:
    """New events (oldest first) and the cursor to store once they are ingested."""

    events: Sequence[InboundEvent] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """One configured poller's link to its platform."""

    async def poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        """Fetch what is new since ``cursor``; raise SourceError when the platform fails."""
        ...

    async def close(self) -> None:
        """Release network resources (called at shutdown and when the config changes)."""
        ...


def env_secret(env: Mapping[str, str], name: str) -> str:
    """The value of environment variable ``name``; SourceError naming it (never its value)."""
    value = env.get(name, "").strip()
    if not value:
        raise SourceError(f"environment variable {name} is not set")
    return value


_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li)\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")


def html_to_text(markup: str) -> str:
    """Plain text of a small HTML fragment (a Mastodon status, a feed summary)."""
    text = _BREAK.sub("\n", markup)
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time with a zone (``Z`` allowed) as an aware datetime, else None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
