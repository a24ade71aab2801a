"""The real Slack adapter (Bolt app in HTTP mode, served by uvicorn) bound to a recording
double of the bot's :class:`~handlers.inbound_port.ChatInbound` port, against FakeSlack.

For Slack-side tests of things whose neutral side is built elsewhere: the test scripts
what the port answers, presses buttons on the messages the adapter really posted, submits
the modals it really opened, and asserts which port call was made with which arguments
and that the answer reached the person.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.chat.base import PostedRef
from bot.chat.slack import SlackAdapter, SlackConnection
from handlers.cards import Card
from handlers.config import CrmbotConfig
from handlers.errors import UserError
from handlers.events import Action, Actor, Command
from handlers.inbound_port import ReviewVerb, SuggestionVerb
from handlers.replies import Reply
from tests.conftest import make_config
from tests.fakes.slack_api import Answer, FakeSlack, Message, OpenedView
from tests.fakes.slack_bot import (
    APP_TOKEN,
    BOT_TOKEN,
    FAST_RETRY,
    NO_BUDGET,
    SIGNING_SECRET,
    _serve,
    sign,
)


@dataclass(frozen=True)
class PortCall:
    """One call the adapter made on the port: its method and arguments by name."""

    method: str
    args: dict[str, Any]


@dataclass
class RecordingInbound:
    """A ChatInbound that records every call and answers as the test scripted: a text, or
    an exception to raise (a UserError's reason is what the person should see)."""

    answers: dict[str, str | Exception] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # reply_text: ref -> text
    calls: list[PortCall] = field(default_factory=list)
    held: asyncio.Event | None = None  # when set up, send_reply waits for it
    _config: CrmbotConfig = field(default_factory=make_config)

    def of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of each call to ``method``."""
        return [c.args for c in self.calls if c.method == method]

    def _answer(self, method: str, **args: Any) -> str:
        self.calls.append(PortCall(method, args))
        answer = self.answers.get(method, f"{method} done")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def config(self) -> CrmbotConfig:
        return self._config

    async def command(self, command: Command, mentioned: Mapping[str, Actor]) -> Reply:
        return Reply(text=self._answer("command", text=command.text), ephemeral=True)

    async def action(self, action: Action, target: Actor | None = None) -> str:
        return self._answer("action", name=action.name, conversation_id=action.conversation_id)

    async def suggestion(
        self,
        actor: Actor,
        verb: SuggestionVerb,
        suggestion_id: int,
        delivery_id: str | None = None,
    ) -> str:
        return self._answer(
            "suggestion",
            user=actor.user_id,
            verb=verb,
            suggestion_id=suggestion_id,
            delivery_id=delivery_id,
        )

    async def thread_message(
        self,
        actor: Actor,
        channel: str,
        thread_ref: str,
        text: str,
        delivery_id: str | None = None,
    ) -> str | None:
        return self._answer("thread_message", channel=channel, thread_ref=thread_ref, text=text)

    async def send_reply(
        self,
        actor: Actor,
        conversation_id: int,
        text: str,
        suggestion_id: int | None = None,
        delivery_id: str | None = None,
    ) -> str:
        if self.held is not None:
            await self.held.wait()
        return self._answer(
            "send_reply",
            user=actor.user_id,
            conversation_id=conversation_id,
            text=text,
            suggestion_id=suggestion_id,
            delivery_id=delivery_id,
        )

    async def review_reply(
        self,
        actor: Actor,
        reply_id: int,
        verb: ReviewVerb,
        text: str | None = None,
        delivery_id: str | None = None,
    ) -> str:
        return self._answer(
            "review_reply",
            user=actor.user_id,
            reply_id=reply_id,
            verb=verb,
            text=text,
            delivery_id=delivery_id,
        )

    async def reply_text(self, actor: Actor, ref: str) -> str:
        self.calls.append(PortCall("reply_text", {"user": actor.user_id, "ref": ref}))
        if ref not in self.texts:
            raise UserError(f"There is no {ref}.")
        return self.texts[ref]

    async def is_staff(self, actor: Actor) -> bool:
        return True


@dataclass
class PortBot:
    """The Slack adapter on the fake Slack, with the recording port behind it."""

    fake: FakeSlack
    adapter: SlackAdapter
    inbound: RecordingInbound
    http_url: str | None  # None in Socket Mode

    async def post(self, channel: str, card: Card, thread_ts: str | None = None) -> Message:
        """Post ``card`` the way the dispatcher does; returns the message as shown."""
        thread = PostedRef(thread_ts, thread_ts) if thread_ts else None
        posted = await self.adapter.post(channel, card, thread)
        return self.fake.messages[(channel, posted.message_ref)]

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver an interactivity payload as Slack does in the adapter's mode (HTTP:
        ``payload=<JSON>``, form-encoded, signed; Socket Mode: an ``interactive``
        envelope); returns the app's answer to it ({} for a bare acknowledgement)."""
        if self.http_url is None:
            return await self._push(payload)
        body = urlencode({"payload": json.dumps(payload)})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(body, int(time.time()), SIGNING_SECRET),
        }
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.http_url}/slack/events", content=body, headers=headers
            )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer

    async def _push(self, payload: dict[str, Any]) -> dict[str, Any]:
        envelope_id = uuid.uuid4().hex
        await self.fake.push(
            {
                "envelope_id": envelope_id,
                "type": "interactive",
                "accepts_response_payload": payload["type"] == "view_submission",
                "payload": payload,
            }
        )
        await self.fake.wait_for(
            lambda: any(a.get("envelope_id") == envelope_id for a in self.fake.acks)
        )
        ack = next(a for a in self.fake.acks if a.get("envelope_id") == envelope_id)
        answer: dict[str, Any] = ack.get("payload") or {}
        return answer

    def press_payload(self, message: Message, action_id: str, user: str) -> dict[str, Any]:
        """The block_actions payload of ``user`` pressing the button ``action_id`` on
        ``message``, built from the button as posted (its block id and value)."""
        block, button = next(
            (block, element)
            for block in message.blocks
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == action_id
        )
        message_body: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
        if message.thread_ts:
            message_body["thread_ts"] = message.thread_ts
        return {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": user, "username": "someone", "team_id": "T0001"},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"13345224609.738474920.{uuid.uuid4().hex[:31]}",
            "channel": {"id": message.channel, "name": "support"},
            "message": message_body,
            "response_url": self.fake.response_url(uuid.uuid4().hex),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block["block_id"],
                    "value": button.get("value"),
                    "type": "button",
                    "action_ts": f"1772441000.{uuid.uuid4().int % 10**6:06d}",
                }
            ],
        }

    async def press(self, message: Message, action_id: str, user: str) -> Answer:
        """Press a button on ``message``; returns the bot's ephemeral answer."""
        payload = self.press_payload(message, action_id, user)
        await self.interact(payload)
        return await self.fake.answer(payload["response_url"].rsplit("/", 1)[1])

    async def open_modal(self, message: Message, action_id: str, user: str) -> OpenedView:
        """Press a button that opens a modal; returns the modal as opened."""
        before = len(self.fake.views)
        await self.interact(self.press_payload(message, action_id, user))
        await self.fake.wait_for(lambda: len(self.fake.views) > before)
        return self.fake.views[-1]

    async def submit(self, view: OpenedView, user: str, text: str) -> dict[str, Any]:
        """Submit ``view`` with ``text`` in its box; returns Slack's view answer ({} when
        the modal simply closes)."""
        payload = self.fake.submission(view, user, {"reply_text": {"text": text}})
        return await self.interact(payload)


@contextlib.asynccontextmanager
async def port_bot(
    inbound: RecordingInbound | None = None, *, mode: str = "http"
) -> AsyncIterator[PortBot]:
    """The Slack adapter bound to ``inbound``: in HTTP mode served on 127.0.0.1, in Socket
    Mode connected to the fake's websocket."""
    fake = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    await fake.start()
    try:
        connection = SlackConnection(
            bot_token=SecretStr(BOT_TOKEN),
            app_token=SecretStr(APP_TOKEN) if mode == "socket" else None,
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=fake.api_url,
        )
        adapter = SlackAdapter(connection, retry=FAST_RETRY, budget=NO_BUDGET)
        port = inbound or RecordingInbound()
        adapter.bind(port)
        if mode == "socket":
            await adapter.start()
            try:
                yield PortBot(fake, adapter, port, None)
            finally:
                await adapter.stop()
            return
        async with _serve(Starlette(routes=adapter.http_routes())) as url:
            yield PortBot(fake, adapter, port, url)
    finally:
        await fake.stop()
