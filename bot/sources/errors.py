"""What a poller raises when a poll fails; the reason is shown to admins as written."""

from __future__ import annotations


class SourceError(Exception):
    """A poll failed. ``reason`` is safe to log, store and post (never a token or secret);
    ``retry_after`` (seconds) is the platform's own ask to wait, when it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RateLimited(SourceError):
    """The platform asked us to slow down (HTTP 429 or its rate-limit headers)."""
