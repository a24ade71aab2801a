"""Every chat platform crmbot knows, in one list.

A platform is one package under ``bot/chat/<platform>/`` that exposes a
:class:`Platform`; adding one is that package plus one line in :data:`PLATFORMS`.
``crmbot run`` enables each platform whose settings are present; the console runs when
none is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.base import ChatAdapter
from bot.settings import Settings
from handlers.config import CrmbotConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Platform:
    """A chat platform: its name (also the ``[channels.NAME]`` key holding its channel id)
    and how to build its adapter from the environment (None when it is not configured)."""

    name: str
    from_settings: Callable[[Settings], ChatAdapter | None]


def _slack(settings: Settings) -> ChatAdapter | None:
    from bot.chat.slack import SlackAdapter, connection_from_settings

    connection = connection_from_settings(settings)
    return SlackAdapter(connection) if connection is not None else None


def _discord(settings: Settings) -> ChatAdapter | None:
    from bot.chat.discord import from_settings

    return from_settings(settings)


PLATFORMS: list[Platform] = [
    Platform("slack", _slack),
    Platform("discord", _discord),
]


def enabled_adapters(settings: Settings) -> list[ChatAdapter]:
    """The adapters the environment asks for; the console when no platform is configured."""
    adapters: list[ChatAdapter] = []
    for platform in PLATFORMS:
        adapter = platform.from_settings(settings)
        if adapter is not None:
            log.info("%s enabled", platform.name)
            adapters.append(adapter)
    if not adapters:
        from bot.chat.console import ConsoleAdapter

        log.info("no chat platform configured: alerts go to the console")
        adapters.append(ConsoleAdapter())
    return adapters


def channel_destination(config: CrmbotConfig, channel: str, platform: str) -> str | None:
    """The channel's id on ``platform`` from the config; the console shows every channel
    under its own name."""
    settings = config.channels.get(channel)
    if platform == "console":
        return channel if settings is not None or channel else None
    if settings is None:
        return None
    value = getattr(settings, platform, None)
    return value if isinstance(value, str) and value else None
