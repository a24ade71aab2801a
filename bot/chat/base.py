"""The small interface every chat adapter implements (after errbot's backends and
opsdroid's connectors): start/stop, post a card, edit a posted alert."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from starlette.routing import BaseRoute

from handlers.cards import Card, StatusCard
from handlers.config import CrmbotConfig
from handlers.context import BotContext


class ChatSetupError(Exception):
    """A chat platform's settings cannot work; the message says which variable to fix."""


class DeliveryError(Exception):
    """Posting failed. ``reason`` is safe to store and show (it never holds a token)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ChatAdapter(ABC):
    """One chat platform."""

    platform: str = ""
    finds_posts: bool = False  # implements find_post (posts are looked up after a crash)

    async def start(self) -> None:
        """Connect; called once before anything is posted."""
        return None

    async def stop(self) -> None:
        """Disconnect; called once at shutdown."""
        return None

    def bind(self, ctx: BotContext) -> None:
        """Receive the bot's context before anything can arrive (commands, buttons)."""
        return None

    async def healthy(self) -> bool:
        """Whether the platform is reachable now, for ``/healthz`` (default: yes)."""
        return True

    def http_routes(self) -> list[BaseRoute]:
        """HTTP endpoints this adapter serves under `crmbot run --port` (e.g. Slack events)."""
        return []

    @abstractmethod
    def destinations(self, channel: str, config: CrmbotConfig) -> list[str]:
        """This platform's channel ids for the named channel (empty when not configured)."""

    @abstractmethod
    async def post(self, destination: str, card: Card, thread_ref: str | None) -> str:
        """Post ``card`` (in the thread ``thread_ref`` when given); return the message ref.

        Raises DeliveryError on failure, and TypeError for a card type it cannot render.
        """

    async def post_once(
        self, destination: str, card: Card, thread_ref: str | None, key: str
    ) -> str:
        """Like :meth:`post`, tagging the message with ``key`` where the platform can store
        it, so :meth:`find_post` can tell later whether it went out. Default: ``post``."""
        return await self.post(destination, card, thread_ref)

    async def find_post(
        self, destination: str, key: str, thread_ref: str | None, since: datetime
    ) -> str | None:
        """The ref of a message posted since ``since`` with ``key`` (see :meth:`post_once`),
        or None when there is none or the platform cannot tell (then it is posted again)."""
        return None

    @abstractmethod
    async def update(self, destination: str, message_ref: str, card: StatusCard) -> None:
        """Show the new state of the alert ``message_ref`` (edit in place where possible)."""
