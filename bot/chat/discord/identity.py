"""Discord users as neutral :class:`Actor` values, and who may use the bot.

A user maps to a staff record by their id (``[[staff]] discord = "<user id>"``). Their
guild roles travel as groups ``discord-role:<role id>``, which ``[roles]`` can name to
make them staff, managers or admins. Someone who is none of these is refused politely.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import discord

from handlers.config import CrmbotConfig
from handlers.events import Actor

PLATFORM = "discord"
ROLE_PREFIX = "discord-role:"
NOT_STAFF = (
    "Sorry, crmbot only works with the support team. Ask an admin to add your Discord id "
    "to [[staff]] or one of your roles to [roles] in the config."
)


def role_groups(role_ids: Iterable[int | str], guild_id: int | None) -> tuple[str, ...]:
    """``discord-role:<id>`` for each role (the @everyone role, whose id is the guild's,
    is left out)."""
    return tuple(
        f"{ROLE_PREFIX}{role_id}"
        for role_id in sorted({str(r) for r in role_ids})
        if guild_id is None or role_id != str(guild_id)
    )


def actor_of(user: discord.User | discord.Member) -> Actor:
    """The Actor for a Discord user or guild member (with their roles as groups)."""
    groups: tuple[str, ...] = ()
    if isinstance(user, discord.Member):
        # the member's role ids as Discord sent them (Member.roles drops roles that are
        # not in the guild cache, which would silently cost someone their role)
        groups = role_groups((str(role_id) for role_id in user._roles), user.guild.id)
    return Actor(
        platform=PLATFORM,
        user_id=str(user.id),
        name=user.name or None,
        groups=groups,
    )


def actor_from_payload(user_id: str, resolved: dict[str, Any], guild_id: int | None) -> Actor:
    """The Actor for a user picked in a select menu (``data.resolved`` of the payload)."""
    user = (resolved.get("users") or {}).get(user_id) or {}
    member = (resolved.get("members") or {}).get(user_id) or {}
    return Actor(
        platform=PLATFORM,
        user_id=user_id,
        name=str(user.get("username") or "") or None,
        groups=role_groups(member.get("roles") or [], guild_id),
    )


def has_role(config: CrmbotConfig, actor: Actor) -> bool:
    """Whether ``[roles]`` names this person or one of their Discord roles."""
    roles = config.roles
    ids = {f"{actor.platform}:{actor.user_id}", *actor.groups}
    return bool(ids.intersection((*roles.staff, *roles.managers, *roles.admins)))
