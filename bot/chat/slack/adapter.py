"""The Slack chat adapter: posts cards with Block Kit, edits alerts in place, and runs the
Bolt app over Socket Mode (default) or HTTP (``POST /slack/events``).

Alerts, follow-ups and notices go through a per-channel burst limit (Slack allows about
one message per second per channel). A call that still fails after slack_sdk's retries
raises DeliveryError, so the dispatcher keeps the outbox row and tries again later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.chat.base import Capabilities, ChatAdapter, DeliveryError, PostedRef
from bot.chat.slack import blocks as kit
from bot.chat.slack.app import SlackListeners, build_app
from bot.chat.slack.connection import RetryPolicy, SlackConnection, SlackSetupError, make_client
from bot.chat.slack.errors import CALL_ERRORS, delivery_error, is_outage
from bot.chat.slack.identity import SlackIdentities
from bot.chat.slack.reply_card import reply_card_blocks, reply_card_text
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

EVENTS_PATH = "/slack/events"
METADATA_EVENT = "crmbot_outbox"  # message metadata naming the outbox row a post is for


@dataclass(frozen=True, slots=True)
class BurstLimit:
    """At most ``posts`` messages per ``seconds`` to one channel (Slack: about one a second,
    with short bursts allowed), enforced by waiting. Not the dispatcher's per-minute
    :class:`bot.budget.PostBudget`, which turns floods into digests."""

    posts: float = 3.0
    seconds: float = 3.0


class SlackAdapter(ChatAdapter):
    """Slack through slack-bolt (AsyncApp) and slack_sdk's AsyncWebClient."""

    platform = "slack"
    capabilities = Capabilities(posts_per_minute=50)
    finds_posts = True

    def __init__(
        self,
        connection: SlackConnection,
        *,
        retry: RetryPolicy | None = None,
        burst: BurstLimit | None = None,
    ) -> None:
        self.connection = connection
        self.client = make_client(connection, retry)
        self.burst = burst or BurstLimit()
        self.identities = SlackIdentities(self.client, self.inbound)
        self.listeners = SlackListeners(self.inbound, self.identities, self.client)
        self.app = build_app(self.client, connection, self.listeners)
        self._inbound: ChatInbound | None = None
        self._limiters: dict[str, AsyncLimiter] = {}
        self._socket: AsyncSocketModeHandler | None = None
        self._api_reachable = True  # the last post reached Slack (even if Slack refused it)

    # -- wiring ---------------------------------------------------------------------------

    def bind(self, inbound: ChatInbound) -> None:
        """Give the listeners the bot's inbound port (before anything can arrive)."""
        self._inbound = inbound

    def inbound(self) -> ChatInbound:
        """The bot's inbound port; the adapter must have been bound to a bot."""
        if self._inbound is None:
            raise RuntimeError("the Slack adapter is not bound to a bot (call bind(inbound))")
        return self._inbound

    def http_routes(self) -> list[BaseRoute]:
        """``POST /slack/events`` in HTTP mode (events, slash commands, interactivity)."""
        if self.connection.mode != "http":
            return []
        handler = AsyncSlackRequestHandler(self.app)

        async def slack_events(request: Request) -> Response:
            return await handler.handle(request)

        return [Route(EVENTS_PATH, slack_events, methods=["POST"])]

    async def start(self) -> None:
        """Open one HTTP session for every Web API call (keep-alive: no new connection
        per post), check the bot token, then connect Socket Mode when it is the mode."""
        self.inbound()
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout)
            )
        await self._check_token()
        if self.connection.mode == "socket":
            assert self.connection.app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.app, self.connection.app_token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack: connected in Socket Mode")
        else:
            log.info("Slack: HTTP mode, events at %s", EVENTS_PATH)

    async def _check_token(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            if exc.response.get("error") in {"invalid_auth", "not_authed", "account_inactive"}:
                raise SlackSetupError(
                    "Slack refused SLACK_BOT_TOKEN; check the token and reinstall the app."
                ) from None
            log.warning("Slack auth.test failed: %s", delivery_error("auth.test", exc).reason)
            return
        except CALL_ERRORS as exc:
            log.warning("Slack auth.test failed: %s", delivery_error("auth.test", exc).reason)
            return
        log.info("Slack: signed in as %s in %s", auth.get("user"), auth.get("team"))

    async def healthy(self) -> bool:
        """Socket Mode connected (in that mode) and the last post reached Slack's Web API."""
        if self.connection.mode == "socket" and (
            self._socket is None or not await self._socket.client.is_connected()
        ):
            return False
        return self._api_reachable

    async def stop(self) -> None:
        """Close the Socket Mode connection and the Web API session."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()
        self.client.session = None

    # -- outbound -------------------------------------------------------------------------

    def _limiter(self, destination: str) -> AsyncLimiter:
        limiter = self._limiters.get(destination)
        if limiter is None:
            limiter = AsyncLimiter(self.burst.posts, self.burst.seconds)
            self._limiters[destination] = limiter
        return limiter

    def mention(self, ping: Ping) -> str:
        """``<@U1>`` for a person, ``<!subteam^S1>`` for a user group."""
        slack_id = ping.ids.get(self.platform)
        if not slack_id:
            return f"@{ping.name}"
        return f"<!subteam^{slack_id}>" if ping.kind == "group" else f"<@{slack_id}>"

    async def post(self, destination: str, card: Card, thread: PostedRef | None) -> PostedRef:
        """Post ``card`` (into the alert's thread when ``thread`` is given); returns its ts."""
        return await self._post(destination, card, thread, {})

    async def post_once(
        self, destination: str, card: Card, thread: PostedRef | None, key: str
    ) -> PostedRef:
        """Post with ``key`` in the message metadata, for :meth:`find_post`."""
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        return await self._post(destination, card, thread, {"metadata": metadata})

    async def find_post(
        self, destination: str, key: str, thread: PostedRef | None, since: datetime
    ) -> PostedRef | None:
        """The message posted with ``key`` since ``since`` (history or thread)."""
        thread_ref = thread.thread_ref if thread is not None else None
        args: dict[str, Any] = {
            "channel": destination,
            "oldest": f"{since.timestamp():.6f}",
            "include_all_metadata": True,
            "limit": 200,
        }
        try:
            if thread_ref is not None:
                answer = await self.client.conversations_replies(ts=thread_ref, **args)
            else:
                answer = await self.client.conversations_history(**args)
        except CALL_ERRORS as exc:
            raise delivery_error("conversations.history", exc) from None
        for message in answer.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                ts = str(message["ts"])
                return PostedRef(message_ref=ts, thread_ref=thread_ref or ts)
        return None

    async def _post(
        self, destination: str, card: Card, thread: PostedRef | None, extra: dict[str, Any]
    ) -> PostedRef:
        thread_ref = thread.thread_ref if thread is not None else None
        extra = dict(extra)
        if isinstance(card, AlertCard):
            pings = " ".join(self.mention(p) for p in card.ping_list())
            text = f"{kit.alert_text(card)} {pings}".rstrip()
            blocks = kit.alert_blocks(card, pings=pings)
            extra.update(unfurl_links=False, unfurl_media=False)
        elif isinstance(card, FollowUpCard):
            text, blocks = kit.followup_text(card), kit.followup_blocks(card)
            extra.update(unfurl_links=False, reply_broadcast=card.reopened and bool(thread_ref))
        elif isinstance(card, StatusCard):
            text, blocks = kit.status_text(card), kit.status_blocks(card)
        elif isinstance(card, NoticeCard):
            text, blocks = kit.notice_text(card), kit.notice_blocks(card)
        elif isinstance(card, DigestCard):
            text, blocks = kit.digest_text(card), kit.digest_blocks(card)
            extra.update(unfurl_links=False, unfurl_media=False)
        elif isinstance(card, SuggestionCard):
            text, blocks = kit.suggestion_text(card), kit.suggestion_blocks(card)
            extra.update(unfurl_links=False, unfurl_media=False)
        elif isinstance(card, ReplyCard):
            text, blocks = reply_card_text(card), reply_card_blocks(card)
            extra.update(unfurl_links=False, unfurl_media=False)
        else:
            raise TypeError(f"the Slack adapter cannot post a {type(card).__name__}")
        if thread_ref is not None:
            extra["thread_ts"] = thread_ref
        async with self._limiter(destination):
            try:
                response = await self.client.chat_postMessage(
                    channel=destination, text=text, blocks=_dicts(blocks), **extra
                )
            except CALL_ERRORS as exc:
                self._api_reachable = not is_outage(exc)
                raise delivery_error("chat.postMessage", exc) from None
        self._api_reachable = True
        ts = response.get("ts")
        if not isinstance(ts, str):
            raise DeliveryError("Slack chat.postMessage: no ts in the answer")
        return PostedRef(message_ref=ts, thread_ref=thread_ref or ts)

    async def update(
        self, destination: str, posted: PostedRef, alert: AlertCard | None, status: StatusCard
    ) -> None:
        """Re-render the alert with its new state and buttons (chat.update)."""
        if alert is not None:
            text, blocks = kit.alert_text(alert), kit.alert_blocks(alert, status=status)
        else:
            text, blocks = kit.status_text(status), kit.status_blocks(status)
        try:
            await self.client.chat_update(
                channel=destination, ts=posted.message_ref, text=text, blocks=_dicts(blocks)
            )
        except CALL_ERRORS as exc:
            raise delivery_error("chat.update", exc) from None


def _dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]
