"""Slack users as neutral :class:`Actor` values.

A user already linked to a staff record (from the config or an earlier visit) needs
nothing more. For a user seen for the first time, ``users.info`` is asked once for a name
and email (scopes users:read and users:read.email), so their new staff record is useful.
Answers are cached in this process. When ``[roles]`` names Slack user groups
(``slack-group:S123``), the groups' members are read with ``usergroups.list`` (scope
usergroups:read) at most every GROUPS_TTL seconds and given to the Actor as its groups.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.errors import CALL_ERRORS, delivery_error
from handlers.events import Actor
from handlers.inbound_port import ChatInbound

log = logging.getLogger(__name__)

PLATFORM = "slack"
CACHE_SIZE = 10_000
GROUP_PREFIX = "slack-group:"
GROUPS_TTL = 300.0


def actor_from_profile(user_id: str, user: dict[str, Any], fallback: str | None) -> Actor:
    """An Actor from a users.info ``user`` object."""
    profile = user.get("profile") or {}
    name = profile.get("display_name") or user.get("name") or profile.get("real_name") or fallback
    email = profile.get("email") or None
    return Actor(platform=PLATFORM, user_id=user_id, name=name or None, email=email)


class SlackIdentities:
    """Turns Slack user ids into Actors, asking Slack about strangers once."""

    def __init__(self, client: AsyncWebClient, inbound: Callable[[], ChatInbound]) -> None:
        self.client = client
        self._inbound = inbound
        self._cache: dict[str, Actor] = {}
        self._groups: dict[str, set[str]] | None = None
        self._groups_at = 0.0

    async def actor(self, user_id: str, name: str | None = None) -> Actor:
        """The Actor for ``user_id`` (with the Slack groups that matter for roles)."""
        actor = await self._person(user_id, name)
        groups = await self._groups_of(user_id)
        return dataclasses.replace(actor, groups=groups) if groups else actor

    async def _groups_of(self, user_id: str) -> tuple[str, ...]:
        roles = self._inbound().config().roles
        if not any(
            m.startswith(GROUP_PREFIX) for m in (*roles.admins, *roles.managers, *roles.staff)
        ):
            return ()
        if self._groups is None or time.monotonic() - self._groups_at > GROUPS_TTL:
            try:
                response = await self.client.usergroups_list(include_users=True)
            except CALL_ERRORS as exc:
                log.warning(
                    "could not read Slack user groups: %s",
                    delivery_error("usergroups.list", exc).reason,
                )
                return ()
            self._groups = {
                str(group.get("id")): set(group.get("users") or [])
                for group in response.get("usergroups") or []
            }
            self._groups_at = time.monotonic()
        return tuple(
            f"{GROUP_PREFIX}{group_id}"
            for group_id, members in sorted(self._groups.items())
            if user_id in members
        )

    async def _person(self, user_id: str, name: str | None) -> Actor:
        """The Actor for ``user_id``; ``name`` is the payload's name, used as a fallback."""
        cached = self._cache.get(user_id)
        if cached is not None:
            return cached
        if await self._inbound().is_staff(Actor(platform=PLATFORM, user_id=user_id)):
            actor = Actor(platform=PLATFORM, user_id=user_id, name=name)
        else:
            looked_up = await self._lookup(user_id, name)
            if looked_up is None:
                return Actor(platform=PLATFORM, user_id=user_id, name=name)
            actor = looked_up
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[user_id] = actor
        return actor

    async def _lookup(self, user_id: str, name: str | None) -> Actor | None:
        try:
            response = await self.client.users_info(user=user_id)
        except CALL_ERRORS as exc:
            log.warning(
                "could not look up Slack user %s: %s",
                user_id,
                delivery_error("users.info", exc).reason,
            )
            return None
        user = response.get("user")
        if not isinstance(user, dict):
            return None
        return actor_from_profile(user_id, user, name)
