"""Errors meant for the person who typed the command."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; its message is shown exactly as written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


GENERIC_FAILURE = "Whoops, that failed on our side. The error is in the bot's log."
