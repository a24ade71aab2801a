"""Slack: Block Kit alerts edited in place, one thread per conversation, ``/crm``, buttons.

See docs/slack.md for setting up the app (examples/slack-manifest.yaml).
"""

from __future__ import annotations

from bot.chat.slack.adapter import BurstLimit, SlackAdapter
from bot.chat.slack.connection import (
    RetryPolicy,
    SlackConnection,
    SlackSetupError,
    connection_from_settings,
)

__all__ = [
    "BurstLimit",
    "RetryPolicy",
    "SlackAdapter",
    "SlackConnection",
    "SlackSetupError",
    "connection_from_settings",
]
