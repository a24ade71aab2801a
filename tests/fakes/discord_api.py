"""A loopback fake of Discord: the REST API (v10) and the gateway, on 127.0.0.1.

The real discord.py client runs against it unchanged but for ``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``. It records every REST call, keeps messages as a
channel shows them (after edits), creates threads from messages (and says so over the
gateway), answers interaction callbacks (a message, a deferral, or a modal: type 9) and
webhook follow-ups, and checks what the real Discord checks and discord.py does not:
content, embed, component, modal and custom id limits.
A message breaking one gets 400 with code 50035 and lands in ``violations`` (tests assert
it stays empty). Fault switches answer the next calls to a route with a 429 (with
``retry_after``, as Discord sends it) or any other status.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

TOKEN = "MTAwMDAwMDAwMDAwMDAwMDA.GfAkE1.fake-discord-bot-token-for-tests-0000"
APP_ID = "1000000000000000001"
BOT_ID = "1000000000000000002"
GUILD_ID = "1000000000000000100"
EMBED_LIMITS = {"title": 256, "description": 4096}
INTENT_MESSAGE_CONTENT = 1 << 15
JSON = "application/json"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _user(user_id: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def check_message(body: dict[str, Any]) -> list[str]:
    """What the real Discord refuses in a message body (as 50035 errors)."""
    problems: list[str] = []
    content = body.get("content") or ""
    if len(content) > 2000:
        problems.append(f"content: {len(content)} > 2000")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append(f"embeds: {len(embeds)} > 10")
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            size = len(embed.get(key) or "")
            total += size
            if size > limit:
                problems.append(f"embeds[{index}].{key}: {size} > {limit}")
        url = embed.get("url")
        if url is not None and not re.match(r"^https?://\S+$", url):
            problems.append(f"embeds[{index}].url: not a URL")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append(f"embeds[{index}].fields: {len(fields)} > 25")
        for n, item in enumerate(fields):
            name, value = item.get("name") or "", item.get("value") or ""
            total += len(name) + len(value)
            if not name or not value:
                problems.append(f"embeds[{index}].fields[{n}]: empty name or value")
            if len(name) > 256:
                problems.append(f"embeds[{index}].fields[{n}].name: {len(name)} > 256")
            if len(value) > 1024:
                problems.append(f"embeds[{index}].fields[{n}].value: {len(value)} > 1024")
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
        if len(footer) > 2048:
            problems.append(f"embeds[{index}].footer: {len(footer)} > 2048")
        if len(author) > 256:
            problems.append(f"embeds[{index}].author: {len(author)} > 256")
    if total > 6000:
        problems.append(f"embeds: {total} characters > 6000")
    problems += check_components(body.get("components") or [])
    return problems


def check_components(rows: list[dict[str, Any]]) -> list[str]:
    """Rows of components: 5 rows, 5 buttons a row (a select alone), ids unique and short."""
    problems: list[str] = []
    if len(rows) > 5:
        problems.append(f"components: {len(rows)} rows > 5")
    seen: set[str] = set()
    for r, row in enumerate(rows):
        items = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(items) <= 5:
            problems.append(f"components[{r}]: {len(items)} items in a row")
        if any(item.get("type") != 2 for item in items) and len(items) > 1:
            problems.append(f"components[{r}]: a select must be alone in its row")
        for item in items:
            custom_id = item.get("custom_id")
            if custom_id is None:
                if item.get("style") != 5:
                    problems.append(f"components[{r}]: no custom_id")
                continue
            if len(custom_id) > 100:
                problems.append(f"components[{r}].custom_id: {len(custom_id)} > 100")
            if custom_id in seen:
                problems.append(f"components[{r}].custom_id: duplicate {custom_id}")
            seen.add(custom_id)
            if len(item.get("label") or "") > 80:
                problems.append(f"components[{r}].label: > 80")
    return problems


def check_modal(modal: dict[str, Any]) -> list[str]:
    """What the real Discord refuses in a modal (callback type 9)."""
    problems: list[str] = []
    title = modal.get("title") or ""
    if not 1 <= len(title) <= 45:
        problems.append(f"modal title: {len(title)} not in 1..45")
    if not 1 <= len(modal.get("custom_id") or "") <= 100:
        problems.append("modal custom_id: not in 1..100")
    components = modal.get("components") or []
    if not 1 <= len(components) <= 5:
        problems.append(f"modal components: {len(components)} not in 1..5")
    for n, component in enumerate(components):
        if component.get("type") == 18:
            text = component.get("label") or ""
            if not 1 <= len(text) <= 45:
                problems.append(f"modal components[{n}].label: {len(text)} not in 1..45")
            if len(component.get("description") or "") > 100:
                problems.append(f"modal components[{n}].description: > 100")
            inputs = [component.get("component") or {}]
        elif component.get("type") == 1:
            inputs = list(component.get("components") or [])
            if len(inputs) != 1:
                problems.append(f"modal components[{n}]: {len(inputs)} inputs in a row")
            if any(not 1 <= len(i.get("label") or "") <= 45 for i in inputs):
                problems.append(f"modal components[{n}]: a text input needs a label of 1..45")
        else:
            problems.append(f"modal components[{n}]: type {component.get('type')}")
            continue
        for item in inputs:
            problems += _check_text_input(item, f"modal components[{n}]")
    return problems


def _check_text_input(item: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if item.get("type") != 4 or item.get("style") not in (1, 2):
        problems.append(f"{where}: not a text input")
    if not 1 <= len(item.get("custom_id") or "") <= 100:
        problems.append(f"{where}.custom_id: not in 1..100")
    maximum = int(item.get("max_length") or 4000)
    minimum = int(item.get("min_length") or 0)
    if not 1 <= maximum <= 4000 or not 0 <= minimum <= 4000 or minimum > maximum:
        problems.append(f"{where}: lengths {minimum}..{maximum} not within 0..4000")
    value = item.get("value") or ""
    if len(value) > min(maximum, 4000):
        problems.append(f"{where}.value: {len(value)} > {min(maximum, 4000)}")
    if len(item.get("placeholder") or "") > 100:
        problems.append(f"{where}.placeholder: > 100")
    return problems


@dataclass
class Call:
    """One REST request as the fake received it."""

    method: str
    route: str
    path: str
    body: Any
    files: list[str] = field(default_factory=list)


@dataclass
class Fault:
    """How the next call to a route fails."""

    status: int
    retry_after: float | None = None
    code: int = 0


@dataclass
class Message:
    """A message as its channel shows it now."""

    id: str
    channel_id: str
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    author: dict[str, Any]
    flags: int = 0
    files: list[str] = field(default_factory=list)
    edits: int = 0
    thread_id: str | None = None
    reactions: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        """Everything a person reads: content, embed titles, texts, fields and footers."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields") or []]
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    @property
    def custom_ids(self) -> list[str]:
        return [
            item["custom_id"]
            for row in self.components
            for item in row.get("components") or []
            if "custom_id" in item
        ]

    @property
    def labels(self) -> list[str]:
        return [
            str(item.get("label") or item.get("placeholder") or "")
            for row in self.components
            for item in row.get("components") or []
        ]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    def payload(self, guild_id: str | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "channel_id": self.channel_id,
            "author": self.author,
            "content": self.content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": 0,
            "flags": self.flags,
        }
        if guild_id is not None:
            data["guild_id"] = guild_id
        return data


@dataclass
class Answer:
    """What the bot answered to one interaction."""

    callback: dict[str, Any] | None = None
    channel_id: str = ""
    original: Message | None = None
    deleted: bool = False
    followups: list[Message] = field(default_factory=list)

    @property
    def deferred_ephemeral(self) -> bool:
        data = (self.callback or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & 64)

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot answered with (callback type 9), as sent."""
        if (self.callback or {}).get("type") != 9:
            return None
        return dict((self.callback or {}).get("data") or {})

    @property
    def modal_inputs(self) -> dict[str, dict[str, Any]]:
        """The modal's text inputs by custom_id (label, default ``value``, lengths...)."""
        found: dict[str, dict[str, Any]] = {}
        for component in (self.modal or {}).get("components") or []:
            inner = [component["component"]] if component.get("type") == 18 else []
            for item in inner + list(component.get("components") or []):
                found[item["custom_id"]] = item
        return found

    @property
    def messages(self) -> list[Message]:
        """What the person sees: the original answer (unless deleted), then follow-ups."""
        first = [self.original] if self.original is not None and not self.deleted else []
        return first + self.followups


class FakeDiscord:
    """Discord's REST API and gateway for one guild, on loopback."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        channels: dict[str, str] | None = None,
        members: dict[str, tuple[str, list[str]]] | None = None,
        roles: dict[str, str] | None = None,
    ) -> None:
        self.token = token
        self.channels = dict(channels or {})  # channel id -> name
        self.members = dict(members or {})  # user id -> (name, role ids)
        self.roles = dict(roles or {})  # role id -> name
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.messages: dict[str, Message] = {}
        self.threads: dict[str, str] = {}  # thread id -> parent channel id
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, Answer] = {}
        self.dms: dict[str, str] = {}  # dm channel id -> user id
        self.identify: dict[str, Any] | None = None
        self.faults: dict[str, list[Fault]] = {}
        self.received = asyncio.Event()
        self.message_content_enabled = True  # the switch on the application's Bot page
        self.announce_threads = True  # False: the gateway misses THREAD_CREATE
        self._thread_names: dict[str, str] = {}
        self._interaction_channels: dict[str, str] = {}
        self._interaction_types: dict[str, int] = {}
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> str:
        return str(next(self._ids))

    async def start(self) -> None:
        app = web.Application()
        r = app.router
        base = "/api/v10"
        r.add_get(f"{base}/users/@me", self._me)
        r.add_get(f"{base}/oauth2/applications/@me", self._application)
        r.add_get(f"{base}/gateway/bot", self._gateway_bot)
        r.add_put(f"{base}/applications/{{app}}/guilds/{{guild}}/commands", self._sync, name="sync")
        r.add_put(f"{base}/applications/{{app}}/commands", self._sync, name="sync_global")
        r.add_post(f"{base}/channels/{{channel}}/messages", self._send, name="send")
        r.add_patch(f"{base}/channels/{{channel}}/messages/{{message}}", self._edit, name="edit")
        r.add_post(
            f"{base}/channels/{{channel}}/messages/{{message}}/threads", self._thread, name="thread"
        )
        r.add_put(
            f"{base}/channels/{{channel}}/messages/{{message}}/reactions/{{emoji}}/@me",
            self._react,
        )
        r.add_get(f"{base}/channels/{{channel}}", self._channel)
        r.add_post(f"{base}/users/@me/channels", self._open_dm)
        r.add_post(f"{base}/interactions/{{id}}/{{token}}/callback", self._callback)
        r.add_patch(f"{base}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        r.add_delete(f"{base}/webhooks/{{app}}/{{token}}/messages/@original", self._delete_original)
        r.add_post(f"{base}/webhooks/{{app}}/{{token}}", self._followup, name="followup")
        r.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- helpers for tests ----------------------------------------------------------------------

    def fail(
        self, route: str, status: int, *, retry_after: float | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls to ``route`` (send, edit, thread, followup) fail."""
        self.faults.setdefault(route, []).extend(
            Fault(status=status, retry_after=retry_after) for _ in range(times)
        )

    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    def posts(self, channel_id: str) -> list[Message]:
        """Messages in a channel (or thread), oldest first."""
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    async def wait_for(self, check: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait (bounded) until ``check()`` holds, woken by each request."""
        async with asyncio.timeout(seconds):
            while not check():
                self.received.clear()
                await self.received.wait()

    def guild_payload(self) -> dict[str, Any]:
        roles = [
            {
                "id": GUILD_ID,
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ] + [
            {
                "id": role_id,
                "name": name,
                "permissions": "0",
                "position": n + 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": True,
                "flags": 0,
            }
            for n, (role_id, name) in enumerate(self.roles.items())
        ]
        channels = [
            {"id": cid, "type": 0, "name": name, "position": n, "permission_overwrites": []}
            for n, (cid, name) in enumerate(self.channels.items())
        ]
        threads = [self.thread_payload(tid) for tid in self.threads]
        members = [self.member_payload(uid) for uid in self.members]
        members.append({**self.member_payload(BOT_ID), "user": _user(BOT_ID, "crmbot", True)})
        return {
            "id": GUILD_ID,
            "name": "Acme Support",
            "icon": None,
            "owner_id": next(iter(self.members), BOT_ID),
            "roles": roles,
            "channels": channels,
            "threads": threads,
            "members": members,
            "member_count": len(members),
            "large": False,
            "unavailable": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "afk_timeout": 300,
            "joined_at": _now(),
        }

    def member_payload(self, user_id: str) -> dict[str, Any]:
        """A guild member as GUILD_CREATE carries it (no ``permissions`` key)."""
        name, roles = self.members.get(user_id, ("someone", []))
        return {
            "user": _user(user_id, name),
            "roles": roles,
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
        }

    def thread_payload(self, thread_id: str) -> dict[str, Any]:
        parent = self.threads[thread_id]
        return {
            "id": thread_id,
            "guild_id": GUILD_ID,
            "parent_id": parent,
            "owner_id": BOT_ID,
            "type": 11,
            "name": self._thread_names.get(thread_id, "thread"),
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 10080,
                "archive_timestamp": _now(),
                "locked": False,
            },
        }

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to every connected client."""
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_str(frame)

    # -- REST -----------------------------------------------------------------------------------

    def _reply(self, data: Any, status: int = 200) -> web.Response:
        # discord.py insists on exactly application/json (json_response adds a charset)
        return web.Response(
            status=status, body=json.dumps(data).encode(), headers={"Content-Type": JSON}
        )

    async def _read(self, request: web.Request) -> tuple[Any, list[str]]:
        if request.content_type.startswith("multipart/"):
            body: dict[str, Any] = {}
            files: list[str] = []
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    files.append(part.filename or "")
                    await part.read()
            return body, files
        if request.can_read_body:
            raw = await request.read()
            return (json.loads(raw) if raw else {}), []
        return {}, []

    async def _record(self, request: web.Request) -> tuple[Call, web.Response | None]:
        """Record the call; check the token; play a queued fault."""
        body, files = await self._read(request)
        route = request.match_info.route.name or request.match_info.route.resource.canonical  # type: ignore[union-attr]
        call = Call(request.method, route, request.path, body, files)
        self.calls.append(call)
        self.received.set()
        is_webhook = "/webhooks/" in request.path or "/interactions/" in request.path
        if not is_webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            return call, self._reply({"message": "401: Unauthorized", "code": 0}, 401)
        queued = self.faults.get(route) or []
        if queued:
            fault = queued.pop(0)
            if fault.status == 429:
                return call, web.Response(
                    status=429,
                    body=json.dumps(
                        {
                            "message": "You are being rate limited.",
                            "retry_after": fault.retry_after,
                            "global": False,
                        }
                    ).encode(),
                    headers={
                        "Content-Type": JSON,
                        "Via": "1.1 google",
                        "Retry-After": str(fault.retry_after),
                    },
                )
            return call, self._reply({"message": "fault", "code": fault.code}, fault.status)
        return call, None

    def _invalid(self, problems: list[str]) -> web.Response:
        self.violations.extend(problems)
        return self._reply(
            {"message": "Invalid Form Body", "code": 50035, "errors": {"_errors": problems}}, 400
        )

    async def _me(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        return fault or self._reply(_user(BOT_ID, "crmbot", True))

    async def _application(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        return fault or self._reply(
            {
                "id": APP_ID,
                "name": "crmbot",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": _user("1000000000000000009", "owner"),
                "summary": "",
                "verify_key": "0" * 64,
                "team": None,
                "flags": 1 << 19,
            }
        )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        return fault or self._reply(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        problems = [
            f"command {command.get('name')}: {len(command.get('options') or [])} options > 25"
            for command in call.body
            if len(command.get("options") or []) > 25
        ]
        if problems:
            return self._invalid(problems)
        guild = request.match_info.get("guild", "global")
        commands = [
            {**command, "id": self.next_id(), "application_id": APP_ID, "version": "1"}
            for command in call.body
        ]
        self.commands[guild] = commands
        return self._reply(commands)

    async def _send(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        problems = check_message(call.body)
        if problems:
            return self._invalid(problems)
        channel = request.match_info["channel"]
        if channel not in self.channels and channel not in self.threads and channel not in self.dms:
            return self._reply({"message": "Unknown Channel", "code": 10003}, 404)
        message = self._store(channel, call.body, call.files, _user(BOT_ID, "crmbot", True))
        guild = None if channel in self.dms else GUILD_ID
        return self._reply(message.payload(guild))

    def _store(
        self, channel: str, body: dict[str, Any], files: list[str], author: dict[str, Any]
    ) -> Message:
        message = Message(
            id=self.next_id(),
            channel_id=channel,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            author=author,
            flags=int(body.get("flags") or 0),
            files=files,
        )
        self.messages[message.id] = message
        return message

    async def _edit(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        message = self.messages.get(request.match_info["message"])
        if message is None or message.channel_id != request.match_info["channel"]:
            return self._reply({"message": "Unknown Message", "code": 10008}, 404)
        problems = check_message({**message.payload(None), **call.body})
        if problems:
            return self._invalid(problems)
        self._apply_edit(message, call.body, call.files)
        return self._reply(message.payload(GUILD_ID))

    @staticmethod
    def _apply_edit(message: Message, body: dict[str, Any], files: list[str]) -> None:
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = body["components"] or []
        message.files += files
        message.edits += 1

    async def _thread(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        message = self.messages.get(request.match_info["message"])
        if message is None:
            return self._reply({"message": "Unknown Message", "code": 10008}, 404)
        name = str(call.body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return self._invalid([f"thread name: {len(name)} not in 1..100"])
        if message.thread_id is not None:
            return self._reply(
                {"message": "A thread has already been created", "code": 160004}, 400
            )
        thread_id = message.id  # Discord gives a thread made from a message the message's id
        self.threads[thread_id] = message.channel_id
        self._thread_names[thread_id] = name
        message.thread_id = thread_id
        payload = self.thread_payload(thread_id)
        if self.announce_threads:
            await self.dispatch("THREAD_CREATE", {**payload, "newly_created": True})
        return self._reply(payload, 201)

    async def _react(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        if fault:
            return fault
        message = self.messages.get(request.match_info["message"])
        if message is not None:
            message.reactions.append(request.match_info["emoji"])
        return web.Response(status=204)

    async def _channel(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        if fault:
            return fault
        channel = request.match_info["channel"]
        if channel in self.threads:
            return self._reply(self.thread_payload(channel))
        if channel in self.channels:
            return self._reply(
                {
                    "id": channel,
                    "type": 0,
                    "guild_id": GUILD_ID,
                    "name": self.channels[channel],
                    "position": 0,
                    "permission_overwrites": [],
                }
            )
        return self._reply({"message": "Unknown Channel", "code": 10003}, 404)

    async def _open_dm(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        user = str(call.body.get("recipient_id"))
        channel = next((c for c, u in self.dms.items() if u == user), None) or self.next_id()
        self.dms[channel] = user
        name = self.members.get(user, ("someone", []))[0]
        return self._reply(
            {"id": channel, "type": 1, "recipients": [_user(user, name)], "last_message_id": None}
        )

    # -- interactions ---------------------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        token = request.match_info["token"]
        answer = self.answers.setdefault(token, Answer())
        if answer.callback is not None:
            return self._reply(
                {"message": "Interaction has already been acknowledged.", "code": 40060}, 400
            )
        kind = int(call.body.get("type", 0))
        data = call.body.get("data") or {}
        flags = int(data.get("flags") or 0)
        if kind == 9:
            problems = check_modal(data)
            if self._interaction_types.get(token) not in (2, 3):
                problems.append("a modal answers only a command or a component")
            if problems:
                return self._invalid(problems)
        answer.callback = call.body
        resource: dict[str, Any] = {"type": kind}
        message_id = None
        if kind in (4, 5):
            problems = check_message(data)
            if problems:
                return self._invalid(problems)
            answer.original = Message(
                id=self.next_id(),
                channel_id=self._interaction_channels.get(token, ""),
                content=data.get("content") or "",
                embeds=data.get("embeds") or [],
                components=data.get("components") or [],
                author=_user(BOT_ID, "crmbot", True),
                flags=flags,
            )
            message_id = answer.original.id
            resource["message"] = answer.original.payload(GUILD_ID)
        return self._reply(
            {
                "interaction": {
                    "id": request.match_info["id"],
                    "type": self._interaction_types.get(token, 2),
                    "response_message_id": message_id,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(flags & 64),
                },
                "resource": resource,
            }
        )

    async def _edit_original(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        answer = self.answers.get(request.match_info["token"])
        if answer is None or answer.original is None or answer.deleted:
            return self._reply({"message": "Unknown Message", "code": 10008}, 404)
        problems = check_message({**answer.original.payload(None), **call.body})
        if problems:
            return self._invalid(problems)
        self._apply_edit(answer.original, call.body, call.files)
        return self._reply(answer.original.payload(GUILD_ID))

    async def _delete_original(self, request: web.Request) -> web.Response:
        _call, fault = await self._record(request)
        if fault:
            return fault
        answer = self.answers.get(request.match_info["token"])
        if answer is None or answer.original is None:
            return self._reply({"message": "Unknown Message", "code": 10008}, 404)
        answer.deleted = True
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        call, fault = await self._record(request)
        if fault:
            return fault
        token = request.match_info["token"]
        answer = self.answers.get(token)
        if answer is None or answer.callback is None:
            return self._reply({"message": "Unknown Webhook", "code": 10015}, 404)
        problems = check_message(call.body)
        if problems:
            return self._invalid(problems)
        message = Message(
            id=self.next_id(),
            channel_id=self._interaction_channels.get(token, ""),
            content=call.body.get("content") or "",
            embeds=call.body.get("embeds") or [],
            components=call.body.get("components") or [],
            author=_user(BOT_ID, "crmbot", True),
            flags=int(call.body.get("flags") or 0),
            files=call.files,
        )
        answer.followups.append(message)
        return self._reply(message.payload(GUILD_ID))

    def expect_interaction(self, token: str, channel_id: str, kind: int) -> Answer:
        """Get ready for the bot's answer to an interaction about to be dispatched."""
        self._interaction_channels[token] = channel_id
        self._interaction_types[token] = kind
        answer = self.answers.setdefault(token, Answer())
        answer.channel_id = channel_id
        return answer

    # -- gateway --------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self._on_frame(ws, frame)
        finally:
            self._sockets.remove(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d") or {}
        if op == 1:
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:
            self.identify = data
            if data.get("token") != self.token:
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            if not int(data.get("intents", 0)) & INTENT_MESSAGE_CONTENT:
                self.violations.append("IDENTIFY without the Message Content intent")
            elif not self.message_content_enabled:
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            ready = {
                "v": 10,
                "user": _user(BOT_ID, "crmbot", True),
                "guilds": [{"id": GUILD_ID, "unavailable": True}],
                "session_id": "fake-session",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": APP_ID, "flags": 1 << 19},
                "shard": [0, 1],
            }
            await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
            await ws.send_str(
                json.dumps(
                    {"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": self.guild_payload()}
                )
            )
        elif op == 6:
            await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}}))
        elif op == 8:
            chunk = {
                "guild_id": GUILD_ID,
                "members": [self.member_payload(uid) for uid in self.members],
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": data.get("nonce"),
            }
            await ws.send_str(
                json.dumps({"op": 0, "t": "GUILD_MEMBERS_CHUNK", "s": next(self._seq), "d": chunk})
            )
