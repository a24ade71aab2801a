"""How crmbot reaches Discord: the token and the URLs from the environment.

``DISCORD_API_URL`` and ``DISCORD_GATEWAY_URL`` let the bot run behind a REST rate-limit
proxy (and let tests use a loopback fake). discord.py keeps both as class attributes
(``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``), so they are set
process-wide by :func:`apply_urls`; discord.py is pinned exactly for that reason. The
token stays a :class:`~pydantic.SecretStr` until the client logs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
import discord.gateway
import discord.http
import yarl
from pydantic import SecretStr

from bot.chat.base import ChatSetupError
from bot.settings import Settings

DEFAULT_API_URL = "https://discord.com/api/v10"


class DiscordSetupError(ChatSetupError, ValueError):
    """The Discord settings cannot work; the message says which variable to fix."""


@dataclass(frozen=True, slots=True)
class DiscordConnection:
    """A validated token, where the REST API and the gateway are, and how long a rate
    limit may be waited out inside a call before the row goes back to the outbox."""

    token: SecretStr
    api_url: str = DEFAULT_API_URL
    gateway_url: str | None = None
    max_ratelimit_timeout: float = 30.0


def connection_from_settings(settings: Settings) -> DiscordConnection | None:
    """The Discord connection the environment asks for; None when DISCORD_TOKEN is unset."""
    raw = settings.discord_token
    token = raw.get_secret_value().strip() if raw is not None else ""
    if not token:
        return None
    if token.lower().startswith("bot "):
        raise DiscordSetupError("DISCORD_TOKEN must be the bare bot token, without 'Bot '.")
    if token.count(".") != 2:
        raise DiscordSetupError(
            "DISCORD_TOKEN does not look like a bot token (three parts separated by dots); "
            "copy it from the Bot page of your Discord application."
        )
    api_url = (settings.discord_api_url or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise DiscordSetupError("DISCORD_API_URL must be an http(s) URL.")
    gateway = (settings.discord_gateway_url or "").strip() or None
    if gateway is not None and not gateway.startswith(("ws://", "wss://")):
        raise DiscordSetupError("DISCORD_GATEWAY_URL must be a ws:// or wss:// URL.")
    return DiscordConnection(token=SecretStr(token), api_url=api_url, gateway_url=gateway)


def apply_urls(api_url: str, gateway_url: str | None) -> None:
    """Point discord.py's REST routes and gateway at the given URLs (process-wide)."""
    discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


async def gateway_from_api(client: discord.Client) -> str:
    """The gateway URL Discord (or the proxy) gives out (``GET /gateway/bot``)."""
    _shards, url, _limits = await client.http.get_bot_gateway()
    return url
