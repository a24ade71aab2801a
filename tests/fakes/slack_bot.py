"""crmbot with its real Slack adapter against :class:`FakeSlack`.

HTTP mode serves the production starlette app (``/healthz`` + ``/slack/events``) with
uvicorn on 127.0.0.1, port 0, and every request is signed the way Slack signs it.
Socket Mode connects the real AsyncSocketModeHandler to the fake's websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from pydantic import SecretStr
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from bot.app import CrmBot
from bot.assembly import http_routes
from bot.chat.slack import BurstLimit, RetryPolicy, SlackAdapter, SlackConnection
from bot.server import build_http_app
from bot.settings import Settings
from handlers.clock import FakeClock
from handlers.config import CrmbotConfig
from storage import outbox as outbox_store
from tests.conftest import make_config
from tests.fakes.slack_api import Answer, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111111111-2222222222-fAkEbOtToKeNvAlUe0000"
APP_TOKEN = "xapp-1-A0001-3333333333-fakeapptokenvalue"

STAFF_IDS = {"lead": "U0LEAD", "ana": "U0ANA", "ben": "U0BEN"}
CHANNEL_IDS = {"support": "C0SUPPORT", "sales": "C0SALES", "social": "C0SOCIAL"}
ALERTS_ONLY = {"sales"}

# Retries without waiting (a 429 still waits its Retry-After) and no burst limit, so tests
# do not wait on the clock; the limit has a test of its own.
FAST_RETRY = RetryPolicy(
    max_retries=2, server_error_interval=FixedValueRetryIntervalCalculator(0.0)
)
NO_BURST_LIMIT = BurstLimit(posts=1000, seconds=1)


def slack_config(base: CrmbotConfig | None = None) -> CrmbotConfig:
    """The test config with Slack channel ids (sales is alerts-only) and staff user ids."""
    config = base or make_config()
    channels = {
        name: channel.model_copy(
            update={
                "slack": CHANNEL_IDS.get(name),
                "mode": "alerts-only" if name in ALERTS_ONLY else channel.mode,
            }
        )
        for name, channel in config.channels.items()
    }
    staff = [
        member.model_copy(update={"slack": STAFF_IDS.get(member.name)}) for member in config.staff
    ]
    return config.model_copy(update={"channels": channels, "staff": staff})


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's request-signing headers for ``body``."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def _trigger_id() -> str:
    """A fresh trigger id, as Slack gives every slash command and button press."""
    return f"13345224609.738474920.{uuid.uuid4().hex[:31]}"


@dataclass
class SlackBot:
    """The bot as a Slack workspace meets it."""

    fake: FakeSlack
    bot: CrmBot
    adapter: SlackAdapter
    clock: FakeClock
    http_url: str | None = None
    dispatcher_running: bool = False

    async def deliver(self) -> int:
        """Post what the outbox holds now; with the dispatcher running, just wake it."""
        if self.dispatcher_running:
            self.bot.dispatcher.wake()  # a second drain at the same time could post twice
            return 0
        return await self.bot.dispatcher.drain()

    async def settle(self, seconds: float = 10.0) -> None:
        """With the dispatcher running: wait (bounded) until the outbox holds nothing pending,
        so what was posted is also recorded (e.g. the alert time) before the clock moves."""
        for _ in range(int(seconds / 0.01)):
            with self.bot.db.session() as session:
                if outbox_store.pending_count(session) == 0:
                    return
            await asyncio.sleep(0.01)
        raise AssertionError("the outbox did not empty in time")

    # -- raw HTTP -------------------------------------------------------------------------------

    async def post_signed(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
    ) -> httpx.Response:
        """POST ``body`` to /slack/events, signed (with ``secret``, at ``timestamp``)."""
        assert self.http_url is not None, "HTTP mode only"
        headers = {
            "Content-Type": content_type,
            **sign(body, timestamp or int(time.time()), secret),
        }
        async with httpx.AsyncClient() as http:
            return await http.post(f"{self.http_url}/slack/events", content=body, headers=headers)

    async def post_form(self, form: dict[str, str], **kwargs: Any) -> httpx.Response:
        return await self.post_signed(
            urlencode(form), "application/x-www-form-urlencoded", **kwargs
        )

    # -- what people do -------------------------------------------------------------------------

    def command_form(self, text: str, user: str, channel: str, response: str) -> dict[str, str]:
        """A ``/crm`` slash command payload."""
        return {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "support",
            "user_id": user,
            "user_name": next((n for n, uid in STAFF_IDS.items() if uid == user), "someone"),
            "command": "/crm",
            "text": text,
            "api_app_id": "A0001",
            "response_url": self.fake.response_url(response),
            "trigger_id": _trigger_id(),
        }

    async def slash(
        self, text: str, user: str = STAFF_IDS["ana"], channel: str = CHANNEL_IDS["support"]
    ) -> Answer:
        """Type ``/crm <text>``; returns what the bot answered through the response_url."""
        name = uuid.uuid4().hex
        response = await self.post_form(self.command_form(text, user, channel, name))
        assert response.status_code == 200, response.text
        return await self.fake.answer(name)

    def action_payload(
        self,
        action_id: str,
        conversation_id: int,
        *,
        user: str,
        channel: str,
        message_ts: str,
        response: str,
        selected_user: str | None = None,
    ) -> dict[str, Any]:
        """A block_actions payload for a button (or the hand-off picker) on an alert."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": f"crm:{conversation_id}",
            "action_ts": f"1772441000.{uuid.uuid4().int % 10**6:06d}",
        }
        if selected_user is None:
            action.update(type="button", value=str(conversation_id))
        else:
            action.update(type="users_select", selected_user=selected_user)
        return {
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": user, "username": "someone", "team_id": "T0001"},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "trigger_id": _trigger_id(),
            "channel": {"id": channel, "name": "support"},
            "message": {"type": "message", "ts": message_ts, "text": "alert"},
            "response_url": self.fake.response_url(response),
            "actions": [action],
        }

    async def press(
        self,
        action_id: str,
        conversation_id: int,
        message_ts: str,
        user: str = STAFF_IDS["ana"],
        channel: str = CHANNEL_IDS["support"],
        selected_user: str | None = None,
    ) -> Answer:
        """Press a button on an alert; returns the ephemeral answer."""
        name = uuid.uuid4().hex
        payload = self.action_payload(
            action_id,
            conversation_id,
            user=user,
            channel=channel,
            message_ts=message_ts,
            response=name,
            selected_user=selected_user,
        )
        response = await self.post_form({"payload": json.dumps(payload)})
        assert response.status_code == 200, response.text
        return await self.fake.answer(name)

    async def event(self, event: dict[str, Any]) -> httpx.Response:
        """Deliver an Events API event (signed, over HTTP)."""
        body = {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": "T0001", "user_id": "UBOT", "is_bot": True, "enterprise_id": None}
            ],
        }
        return await self.post_signed(json.dumps(body), "application/json")

    async def say_in_thread(
        self,
        thread_ts: str,
        text: str,
        user: str = STAFF_IDS["ana"],
        channel: str = CHANNEL_IDS["support"],
        **extra: Any,
    ) -> httpx.Response:
        """A message in the thread under ``thread_ts``."""
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": f"1772441500.{uuid.uuid4().int % 10**6:06d}",
            "thread_ts": thread_ts,
            "channel_type": "channel",
            **extra,
        }
        response = await self.event(event)
        assert response.status_code == 200, response.text
        return response


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def slack_bot(
    database_url: str,
    clock: FakeClock,
    *,
    mode: str = "http",
    retry: RetryPolicy = FAST_RETRY,
    burst: BurstLimit = NO_BURST_LIMIT,
    run_dispatcher: bool = False,
    config: CrmbotConfig | None = None,
) -> AsyncIterator[SlackBot]:
    """The whole bot on the fake Slack; ``run_dispatcher`` runs the outbox loop as `run` does."""
    fake = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    await fake.start()
    try:
        connection = SlackConnection(
            bot_token=SecretStr(BOT_TOKEN),
            app_token=SecretStr(APP_TOKEN) if mode == "socket" else None,
            signing_secret=SecretStr(SIGNING_SECRET),
            api_url=fake.api_url,
        )
        adapter = SlackAdapter(connection, retry=retry, burst=burst)
        bot = CrmBot(database_url, config or slack_config(), [adapter], clock=clock)
        app = build_http_app(bot, http_routes(bot, Settings()))
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            http_url = await stack.enter_async_context(_serve(app)) if mode == "http" else None
            stack.callback(bot.db.dispose)
            stack.callback(bot.ingestor.close)
            await bot.start()
            stack.push_async_callback(bot.stop)
            dispatcher = None
            if run_dispatcher:
                bot.dispatcher.poll_interval = 0.05
                dispatcher = asyncio.create_task(bot.dispatcher.run(stop))
            try:
                yield SlackBot(fake, bot, adapter, clock, http_url, run_dispatcher)
            finally:
                stop.set()
                if dispatcher is not None:
                    await dispatcher
    finally:
        await fake.stop()
