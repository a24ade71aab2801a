"""The whole chat platform contract (after errbot's backends and opsdroid's connectors).

An adapter translates and nothing else: inbound payloads become neutral events handed to
the :class:`~handlers.inbound_port.ChatInbound` port it was bound to; outbound cards
become the platform's layout. It declares what the platform can do
(:class:`Capabilities`), and the dispatcher adapts to that instead of assuming Slack.
A new platform is one package under ``bot/chat/<platform>/`` plus one line in
``bot/chat/registry.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from starlette.routing import BaseRoute

from handlers.cards import AlertCard, Card, Ping, StatusCard
from handlers.inbound_port import ChatInbound


class ChatSetupError(Exception):
    """A chat platform's settings cannot work; the message says which variable to fix."""


class DeliveryError(Exception):
    """Posting failed. ``reason`` is safe to store and show (it never holds a token).

    ``permanent`` errors (unknown channel, missing permission, a layout the platform
    refuses) will fail again the same way: the outbox dead-letters them at once instead
    of retrying. ``status`` is the HTTP status when there was one.
    """

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        permanent: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do; the dispatcher plans deliveries by these.

    - ``threads``: follow-ups can go under their alert (else they are posted top level);
    - ``edits``: a posted alert can be redrawn in place (else the new state is posted);
    - ``ephemeral``: answers can be shown to the asker only;
    - ``files``: charts and exports can be uploaded;
    - ``posts_per_minute``: the most messages a channel should get in a minute before
      the rest are folded into digests (a channel's ``max_posts_per_minute`` may lower it).
    """

    threads: bool = True
    edits: bool = True
    ephemeral: bool = True
    files: bool = True
    posts_per_minute: int = 50


@dataclass(frozen=True, slots=True)
class PostedRef:
    """Where a message landed, and where its thread is.

    On Slack both are the message ts; on Discord the thread is a channel created from
    the message. ``thread_ref`` is None when the platform has no threads.
    """

    message_ref: str
    thread_ref: str | None = None


class ChatAdapter(ABC):
    """One chat platform."""

    platform: str = ""
    capabilities: Capabilities = Capabilities()
    finds_posts: bool = False  # implements find_post (posts are looked up after a crash)

    async def start(self) -> None:
        """Connect; called once before anything is posted."""
        return None

    async def stop(self) -> None:
        """Disconnect; called once at shutdown."""
        return None

    def bind(self, inbound: ChatInbound) -> None:
        """Receive the port inbound events go to, before anything can arrive."""
        return None

    async def healthy(self) -> bool:
        """Whether the platform is reachable now, for ``/healthz`` (default: yes)."""
        return True

    def http_routes(self) -> list[BaseRoute]:
        """HTTP endpoints this adapter serves under `crmbot run --port` (e.g. Slack events)."""
        return []

    def mention(self, ping: Ping) -> str:
        """How to notify ``ping`` on this platform (``<@U1>`` on Slack); ``@name`` when the
        person or group has no identity here."""
        return f"@{ping.name}"

    @abstractmethod
    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        """Post ``card`` (inside ``thread`` when given); return where it landed.

        Raises DeliveryError on failure, and TypeError for a card type it cannot render.
        """

    async def post_once(
        self, destination: str, card: Card, thread: PostedRef | None, key: str
    ) -> PostedRef:
        """Like :meth:`post`, tagging the message with ``key`` where the platform can store
        it, so :meth:`find_post` can tell later whether it went out. Default: ``post``."""
        return await self.post(destination, card, thread)

    async def find_post(
        self, destination: str, key: str, thread: PostedRef | None, since: datetime
    ) -> PostedRef | None:
        """The ref of a message posted since ``since`` with ``key`` (see :meth:`post_once`),
        or None when there is none or the platform cannot tell (then it is posted again)."""
        return None

    @abstractmethod
    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        """Redraw the alert ``posted`` with its new ``status`` (``alert`` is the card as it
        was posted, None when it is not known), in place."""
