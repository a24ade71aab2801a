"""Errors meant for people: the person who typed the command, or staff and admins told
that a platform refused something."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message is shown exactly as written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RemoteError(Exception):
    """Another service (a social platform, the CRM) could not do it. ``reason`` is shown
    as written, so it names the problem in words and never holds a secret; ``permanent``
    failures are not retried (a refused credential, a deleted post); others are, after
    ``retry_after`` seconds when the service said so."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


GENERIC_FAILURE = "Whoops, that failed on our side. The error is in the bot's log."
