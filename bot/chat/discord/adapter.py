"""The Discord chat adapter: embeds with persistent buttons, edited in place; one thread
per conversation; ``/crm`` as an app command group.

Posting uses discord.py's REST client and its per-route rate-limit buckets. A wait longer
than ``max_ratelimit_timeout`` is not waited out: it raises, the row goes back to the
outbox with Discord's ``retry_after`` (retried later, or folded into a digest), and the
bot goes on with other channels. 403/404/400 fail the same way again and are permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import discord

from bot.chat.base import Capabilities, ChatAdapter, DeliveryError, PostedRef
from bot.chat.discord import components as ui
from bot.chat.discord import embeds as layout
from bot.chat.discord import reply_embeds
from bot.chat.discord.client import CrmClient
from bot.chat.discord.connection import (
    DiscordConnection,
    DiscordSetupError,
    apply_urls,
    gateway_from_api,
)
from bot.chat.discord.errors import CALL_ERRORS, delivery_error
from bot.chat.discord.listeners import DiscordListeners
from handlers.cards import (
    AlertCard,
    Card,
    DigestCard,
    FollowUpCard,
    NoticeCard,
    Ping,
    ReplyCard,
    StatusCard,
    SuggestionCard,
)
from handlers.inbound_port import ChatInbound

log = logging.getLogger(__name__)

# a week without messages before Discord hides the thread
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
UNKNOWN_CHANNEL = 10003  # Discord's error code for a channel (or thread) that does not exist
THREAD_EXISTS = 160004  # "A thread has already been created for this message"


class _UnknownChannel(DeliveryError):
    """Posting into a channel or thread that does not exist (any more)."""

    def __init__(self, error: DeliveryError) -> None:
        super().__init__(error.reason, permanent=True, status=error.status)


@dataclass
class Outgoing:
    """One message as discord.py sends it."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None
    mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)
    thread_name: str | None = None  # an alert opens its conversation's thread


Renderer = Callable[["DiscordAdapter", Any], Outgoing]
RENDERERS: dict[type[Card], Renderer] = {}


def renders(card_type: type[Card]) -> Callable[[Renderer], Renderer]:
    """Register how a card type becomes a Discord message (registration only)."""

    def register(renderer: Renderer) -> Renderer:
        RENDERERS[card_type] = renderer
        return renderer

    return register


@renders(AlertCard)
def _alert(adapter: DiscordAdapter, card: AlertCard) -> Outgoing:
    pings = card.ping_list()
    return Outgoing(
        content=layout.alert_content(card, [adapter.mention(p) for p in pings]),
        embeds=[layout.alert_embed(card)],
        view=ui.alert_view(card.conversation_id),
        mentions=_ping_mentions(pings),
        thread_name=layout.thread_name(card),
    )


@renders(FollowUpCard)
def _followup(adapter: DiscordAdapter, card: FollowUpCard) -> Outgoing:
    return Outgoing(embeds=[layout.followup_embed(card)])


@renders(StatusCard)
def _status(adapter: DiscordAdapter, card: StatusCard) -> Outgoing:
    return Outgoing(
        embeds=[layout.status_embed(card)], view=ui.alert_view(card.conversation_id, card.status)
    )


@renders(NoticeCard)
def _notice(adapter: DiscordAdapter, card: NoticeCard) -> Outgoing:
    return Outgoing(content=layout.notice_content(card))


@renders(DigestCard)
def _digest(adapter: DiscordAdapter, card: DigestCard) -> Outgoing:
    return Outgoing(
        embeds=[layout.digest_embed(card)], view=ui.digest_view(layout.digest_claimable(card))
    )


@renders(SuggestionCard)
def _suggestion(adapter: DiscordAdapter, card: SuggestionCard) -> Outgoing:
    return Outgoing(
        embeds=[layout.suggestion_embed(card)],
        view=ui.suggestion_view(card.suggestion_id, card.conversation_id, card.reply_mode),
    )


@renders(ReplyCard)
def _reply(adapter: DiscordAdapter, card: ReplyCard) -> Outgoing:
    view = ui.review_view(card.reply_id) if card.state == "awaiting" else None
    return Outgoing(embeds=[reply_embeds.reply_embed(card)], view=view)


def _ping_mentions(pings: list[Ping]) -> discord.AllowedMentions:
    """Only the people and roles the alert means to notify are pinged."""
    users = [discord.Object(id=int(p.ids["discord"])) for p in pings if _pingable(p, "user")]
    roles = [discord.Object(id=int(p.ids["discord"])) for p in pings if _pingable(p, "group")]
    return discord.AllowedMentions(
        everyone=False, users=users or False, roles=roles or False, replied_user=False
    )


def _pingable(ping: Ping, kind: str) -> bool:
    return ping.kind == kind and ping.ids.get("discord", "").isdigit()


class DiscordAdapter(ChatAdapter):
    """Discord through discord.py: REST for posts, the gateway for interactions."""

    platform = "discord"
    capabilities = Capabilities(posts_per_minute=50)

    def __init__(
        self,
        connection: DiscordConnection,
        *,
        ready_timeout: float = 30.0,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        self.connection = connection
        self.ready_timeout = ready_timeout
        self._inbound: ChatInbound | None = None
        self.listeners = DiscordListeners(self.inbound)
        self.client = CrmClient(
            self.listeners,
            self._guilds,
            max_ratelimit_timeout=connection.max_ratelimit_timeout,
            guild_ready_timeout=guild_ready_timeout,
        )
        self._gateway: asyncio.Task[None] | None = None
        self._opening: dict[str, asyncio.Task[str | None]] = {}  # alert id -> thread creation

    # -- wiring ---------------------------------------------------------------------------

    def bind(self, inbound: ChatInbound) -> None:
        """Give the listeners the bot's inbound port (before anything can arrive)."""
        self._inbound = inbound

    def inbound(self) -> ChatInbound:
        """The bot's inbound port; the adapter must have been bound to a bot."""
        if self._inbound is None:
            raise RuntimeError("the Discord adapter is not bound to a bot (call bind(inbound))")
        return self._inbound

    def _guilds(self) -> list[str]:
        return list(self.inbound().config().discord.guilds)

    async def start(self) -> None:
        """Log in (checks the token, syncs ``/crm``), connect the gateway, wait for READY
        (bounded: posting works over REST before the gateway is up)."""
        self.inbound()
        apply_urls(self.connection.api_url, self.connection.gateway_url)
        try:
            await self.client.login(self.connection.token.get_secret_value())
        except discord.LoginFailure:
            await self.client.close()
            raise DiscordSetupError(
                "Discord refused DISCORD_TOKEN; reset the token on the application's Bot page."
            ) from None
        if self.connection.gateway_url is None:
            try:
                apply_urls(self.connection.api_url, await gateway_from_api(self.client))
            except (discord.GatewayNotFound, *CALL_ERRORS) as exc:  # type: ignore[misc]
                log.warning(
                    "Discord GET /gateway/bot failed (%s); using the default gateway",
                    type(exc).__name__,
                )
        self._gateway = asyncio.create_task(self._connect(), name="discord-gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        await asyncio.wait(
            {ready, self._gateway}, timeout=self.ready_timeout, return_when="FIRST_COMPLETED"
        )
        if not ready.done():
            ready.cancel()
            if not self._gateway.done():
                log.warning(
                    "Discord: the gateway is not ready after %.0fs; still trying",
                    self.ready_timeout,
                )

    async def _connect(self) -> None:
        """Keep the gateway connected (discord.py reconnects on network errors itself;
        anything else it raises is logged and the connection is made again, backing off)."""
        delay = 1.0
        while not self.client.is_closed():
            try:
                await self.client.connect(reconnect=True)
            except discord.PrivilegedIntentsRequired:
                log.error(
                    "Discord refused the Message Content intent: enable it on the application's "
                    "Bot page (Privileged Gateway Intents), see docs/discord.md"
                )
                return
            except Exception:
                log.exception("the Discord gateway connection failed; reconnecting")
            if self.client.is_closed():
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def stop(self) -> None:
        """Finish opening threads, then close the gateway and the HTTP session."""
        await self.idle()
        await self.client.close()
        if self._gateway is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._gateway
            self._gateway = None

    async def idle(self) -> None:
        """Wait until the threads being opened in the background are open (or refused)."""
        while self._opening:
            await asyncio.gather(*self._opening.values(), return_exceptions=True)

    async def healthy(self) -> bool:
        """Logged in with the gateway connected."""
        return self.client.is_ready() and not self.client.is_closed()

    # -- outbound -------------------------------------------------------------------------

    def mention(self, ping: Ping) -> str:
        """``<@id>`` for a person, ``<@&id>`` for a role; ``@name`` without a Discord id."""
        discord_id = ping.ids.get(self.platform, "")
        if not discord_id.isdigit():
            return f"@{ping.name}"
        return f"<@&{discord_id}>" if ping.kind == "group" else f"<@{discord_id}>"

    def render(self, card: Card) -> Outgoing:
        """The Discord message for ``card``; TypeError for a card type it cannot render."""
        renderer = RENDERERS.get(type(card))
        if renderer is None:
            raise TypeError(f"the Discord adapter cannot post a {type(card).__name__}")
        return renderer(self, card)

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        """Post ``card`` (into the alert's thread when given); an alert opens its thread.

        Discord gives a thread made from a message the message's id, so an alert's thread
        is known the moment the alert is posted; it is created in the background (the
        next alert need not wait), and a card for it waits for that. A thread that is gone
        (or that Discord refused) is made again from the alert; without one, the card
        goes to the channel.
        """
        out = self.render(card)
        if thread is None:
            message = await self._send(destination, out)
            ref = str(message.id)
            if out.thread_name is None:
                return PostedRef(message_ref=ref)
            self._start_thread(destination, message.id, out.thread_name)
            return PostedRef(message_ref=ref, thread_ref=ref)
        opening = self._opening.get(thread.message_ref)
        if opening is not None:
            await asyncio.shield(opening)
        target = thread.thread_ref or destination
        try:
            message = await self._send(target, out)
        except _UnknownChannel:
            name = f"#{card.conversation_id}" if card.conversation_id is not None else "alert"
            target = (
                await self._open_thread(destination, int(thread.message_ref), name) or destination
            )
            message = await self._send(target, out)
        return PostedRef(message_ref=str(message.id), thread_ref=target)

    def _start_thread(self, channel_id: str, message_id: int, name: str) -> None:
        ref = str(message_id)
        task = asyncio.create_task(
            self._open_thread(channel_id, message_id, name), name=f"discord-thread-{ref}"
        )
        self._opening[ref] = task
        task.add_done_callback(lambda _: self._opening.pop(ref, None))

    async def _send(self, channel_id: str, out: Outgoing) -> discord.Message:
        channel = self.client.get_partial_messageable(int(channel_id))
        try:
            return await channel.send(
                content=out.content or None,
                embeds=out.embeds,
                view=out.view or discord.utils.MISSING,
                allowed_mentions=out.mentions,
            )
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_CHANNEL:
                raise _UnknownChannel(delivery_error("send message", exc)) from None
            raise delivery_error("send message", exc) from None
        except CALL_ERRORS as exc:
            raise delivery_error("send message", exc) from None

    async def _open_thread(self, channel_id: str, message_id: int, name: str) -> str | None:
        """The conversation's thread, from its alert; None when Discord refused (the alert
        is posted; follow-ups then go to the channel)."""
        try:
            created = await self.client.http.start_thread_with_message(
                int(channel_id),
                message_id,
                name=name,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS:
                return str(message_id)
            log.warning(
                "Discord: no thread for the alert in %s: %s",
                channel_id,
                delivery_error("start thread", exc).reason,
            )
            return None
        except CALL_ERRORS as exc:
            log.warning(
                "Discord: no thread for the alert in %s: %s",
                channel_id,
                delivery_error("start thread", exc).reason,
            )
            return None
        return str(created["id"])

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        """Redraw the alert with its new state and the buttons for it (edit in place)."""
        if alert is not None:
            embeds = [layout.alert_embed(alert, status=status)]
        else:
            embeds = [layout.status_embed(status)]
        view = ui.alert_view(status.conversation_id, status.status)
        message = self.client.get_partial_messageable(int(destination)).get_partial_message(
            int(posted.message_ref)
        )
        try:
            await message.edit(
                embeds=embeds, view=view, allowed_mentions=discord.AllowedMentions.none()
            )
        except CALL_ERRORS as exc:
            raise delivery_error("edit message", exc) from None
