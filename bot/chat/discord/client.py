"""The discord.py client crmbot runs: intents, persistent components, ``/crm`` sync.

``setup_hook`` (run by ``login`` before the gateway connects) registers the
``DynamicItem`` classes, so buttons on any alert ever posted keep working after a
restart (the reply edit box is recognised by its custom_id the same way, in
``on_interaction``), and syncs the ``/crm`` group to each guild in ``[discord] guilds`` (instant),
or globally when none is listed (Discord may take up to an hour to show it).

Intents: guilds (channels, threads, roles), guild messages and the privileged Message
Content intent (to read staff replies in alert threads; enable it on the application's
Bot page, see docs/discord.md). The privileged Server Members intent is not needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bot.chat.discord.commands import CrmGroup
from bot.chat.discord.components import DYNAMIC_ITEMS
from bot.chat.discord.errors import CALL_ERRORS, delivery_error
from bot.chat.discord.listeners import DiscordListeners
from bot.chat.discord.modals import target_of

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """What crmbot needs from the gateway, and nothing more."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class CrmClient(discord.Client):
    """A discord.py client wired to crmbot's listeners."""

    def __init__(
        self,
        listeners: DiscordListeners,
        guilds: Callable[[], list[str]],
        *,
        max_ratelimit_timeout: float = 30.0,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            max_ratelimit_timeout=max(30.0, max_ratelimit_timeout),
            chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout,
        )
        # discord.py allows no less than 30 s; a lower ask (tests, latency-sensitive
        # deployments) is set on the HTTP client, whose buckets read it when created
        self.http.max_ratelimit_timeout = max_ratelimit_timeout
        self.components = listeners
        self.tree: app_commands.CommandTree[CrmClient] = app_commands.CommandTree(self)
        self._guilds = guilds
        self.synced: list[str] = []

    async def setup_hook(self) -> None:
        """Persistent components, then the ``/crm`` command sync."""
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Put ``/crm`` into each configured guild (or globally when none is listed)."""
        guilds = [discord.Object(id=int(g)) for g in self._guilds()]
        self.tree.clear_commands(guild=None)
        for each in guilds:
            self.tree.clear_commands(guild=each)
        self.tree.add_command(CrmGroup(), guilds=guilds or discord.utils.MISSING)
        targets: list[discord.Object | None] = list(guilds) or [None]
        for guild in targets:
            try:
                await self.tree.sync(guild=guild)
            except CALL_ERRORS as exc:
                log.warning(
                    "syncing /crm to %s failed: %s (was the bot invited with the "
                    "applications.commands scope?)",
                    f"guild {guild.id}" if guild else "all guilds",
                    delivery_error("command sync", exc).reason,
                )
                continue
            self.synced.append(str(guild.id) if guild else "global")
        log.info("Discord: /crm synced to %s", ", ".join(self.synced) or "nowhere")

    async def on_ready(self) -> None:
        log.info("Discord: connected as %s in %d guilds", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        await self.components.on_message(message)

    async def on_interaction(self, interaction: discord.Interaction[CrmClient]) -> None:
        """A submitted reply edit box (see bot/chat/discord/modals.py)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        if target_of(str(data.get("custom_id", ""))) is not None:
            await self.components.on_modal_submit(interaction)
