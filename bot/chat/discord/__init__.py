"""Discord: embeds with persistent buttons edited in place, one thread per conversation,
``/crm`` as an app command group.

See docs/discord.md for creating the application, its intents and the invite URL.
Nothing here imports storage or the bot: the adapter talks to the bot through the
:class:`~handlers.inbound_port.ChatInbound` port only.
"""

from __future__ import annotations

from bot.chat.base import ChatAdapter
from bot.chat.discord.adapter import DiscordAdapter
from bot.chat.discord.connection import (
    DiscordConnection,
    DiscordSetupError,
    connection_from_settings,
)
from bot.settings import Settings


def from_settings(settings: Settings) -> ChatAdapter | None:
    """The Discord adapter when ``DISCORD_TOKEN`` is set, else None."""
    connection = connection_from_settings(settings)
    return DiscordAdapter(connection) if connection is not None else None


__all__ = [
    "DiscordAdapter",
    "DiscordConnection",
    "DiscordSetupError",
    "connection_from_settings",
    "from_settings",
]
