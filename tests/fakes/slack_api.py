"""A loopback fake of Slack's servers: the Web API, response_url and Socket Mode.

It records every call (method, params, headers) and checks what the real Slack would:
``xoxb-``/``xapp-`` tokens, ``channel`` and ``text`` on posts, and every ``blocks`` through
slack_sdk's own models plus the 50-blocks cap. Anything it would reject lands in
``violations`` (tests assert it stays empty) and gets the error Slack would send.
``views.open`` checks the trigger id and the view (a modal, title and buttons within 24
characters, its blocks) and keeps it in ``views``; :meth:`FakeSlack.submission` builds the
``view_submission`` payload Slack would send when a person submits it.
Fault switches: a 429 with Retry-After, 500/503, ``ok: false`` errors, a hang (the call
is held without an answer until released or stopped), and a storm (each call to some
methods answered 429 or 500 at random, see :meth:`FakeSlack.storm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = 50
FIELD_LIMIT = 2000
POSTS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}


@dataclass
class Call:
    """One Web API request as the fake received it."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Fault:
    """How the next call to a method fails: an HTTP status, or ``ok: false`` with ``error``."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class Answer:
    """A message sent to a response_url (what respond() posted)."""

    name: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def ephemeral(self) -> bool:
        return self.body.get("response_type") == "ephemeral"

    @property
    def shown(self) -> str:
        """Everything a person would read: the blocks' text, or the text without blocks."""
        blocks = self.body.get("blocks")
        return html.unescape(block_text(blocks) if blocks else self.text)


@dataclass
class OpenedView:
    """A modal opened with views.open, as the person sees it."""

    id: str
    trigger_id: str
    view: dict[str, Any]

    @property
    def shown(self) -> str:
        """Its title, blocks and buttons' text."""
        parts: list[dict[str, Any]] = [
            self.view.get("title") or {},
            *self.view.get("blocks", []),
            self.view.get("submit") or {},
        ]
        return html.unescape(block_text(parts))

    def initial_value(self, block_id: str) -> str | None:
        """The prefilled text of the input block ``block_id``."""
        block = next(b for b in self.view.get("blocks", []) if b.get("block_id") == block_id)
        value = block["element"].get("initial_value")
        return value if isinstance(value, str) else None


@dataclass
class Message:
    """A message as the channel shows it now (after any chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: int = 0
    metadata: dict[str, Any] | None = None  # chat.postMessage's ``metadata``

    @property
    def mrkdwn(self) -> str:
        """The message's text as sent (escaped mrkdwn)."""
        return block_text(self.blocks) if self.blocks else self.text

    @property
    def shown(self) -> str:
        """What a person reads (escapes undone)."""
        return html.unescape(self.mrkdwn)


def block_text(blocks: list[dict[str, Any]]) -> str:
    """All text in ``blocks`` (texts, fields, element labels), one piece per line."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in {"mrkdwn", "plain_text"} and isinstance(node.get("text"), str):
                out.append(node["text"])
                return
            for key, value in node.items():
                if key not in {"action_id", "block_id", "value", "type", "style"}:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def _units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass
class FakeSlack:
    """Slack's servers on 127.0.0.1, port 0."""

    bot_token: str
    app_token: str = "xapp-1-A1-fake"
    calls: list[Call] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        self.views: list[OpenedView] = []  # modals opened with views.open, oldest first
        self.ephemerals: list[Call] = []  # chat.postEphemeral calls that were accepted
        self.usergroups: list[dict[str, Any]] = []  # answered by usergroups.list
        self.uploads: dict[str, bytes] = {}  # file id -> bytes POSTed to its upload URL
        self.shared: list[tuple[str, str, str]] = []  # (channel, file id, title) completed
        self._faults: dict[str, list[Fault]] = {}
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()  # set whenever something is recorded
        self._hangs: dict[str, float] = {}  # method -> seconds a call is held unanswered
        self._release = asyncio.Event()
        self._storm: tuple[set[str], float, float, random.Random] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self._release.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/respond/{name}"

    # -- test controls ----------------------------------------------------------------------

    def fail(self, method: str, fault: Fault, times: int = 1) -> None:
        """Make the next ``times`` calls to ``method`` fail with ``fault``."""
        self._faults.setdefault(method, []).extend([fault] * times)

    def storm(
        self, methods: set[str], rate_limited: float, server_error: float, seed: int = 1
    ) -> None:
        """Answer each call to ``methods`` 429 (Retry-After 0 or 1) with probability
        ``rate_limited``, else 500 with probability ``server_error``; nothing is posted then."""
        self._storm = (methods, rate_limited, server_error, random.Random(seed))

    def hang(self, method: str, seconds: float) -> None:
        """Hold every call to ``method`` unanswered for ``seconds`` (until :meth:`release`)."""
        self._release.clear()
        self._hangs[method] = seconds

    def release(self) -> None:
        """Answer held calls now, and hold no more."""
        self._hangs.clear()
        self._release.set()

    def clear_faults(self) -> None:
        self._faults.clear()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[Message]:
        """Messages posted (not ephemeral), oldest first, optionally in one channel."""
        return [m for m in self.messages.values() if channel is None or m.channel == channel]

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        """Wait (bounded) until ``predicate()`` holds: for work Slack's side sees later."""
        try:
            async with asyncio.timeout(seconds):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError("the fake Slack did not see what was expected in time") from None

    async def answer(self, name: str) -> Answer:
        """The message respond() posted to the response_url called ``name``."""
        await self.wait_for(lambda: any(a.name == name for a in self.answers))
        return next(a for a in self.answers if a.name == name)

    def submission(
        self, view: OpenedView, user: str, values: dict[str, dict[str, str]]
    ) -> dict[str, Any]:
        """The ``view_submission`` payload Slack sends when ``user`` submits ``view`` with
        ``values`` (block id -> action id -> typed text), a new trigger_id each time."""
        state = {
            block_id: {
                action_id: {"type": "plain_text_input", "value": text}
                for action_id, text in actions.items()
            }
            for block_id, actions in values.items()
        }
        return {
            "type": "view_submission",
            "team": {"id": "T0001", "domain": "acme"},
            "user": {"id": user, "username": "someone", "name": "someone", "team_id": "T0001"},
            "api_app_id": "A0001",
            "token": "legacy-verification-token",
            "trigger_id": f"13345224609.738474920.sub{next(self._ts):06d}",
            "view": {
                **view.view,
                "id": view.id,
                "team_id": "T0001",
                "state": {"values": state},
                "hash": f"1772441000.{view.id}",
                "app_id": "A0001",
                "bot_id": "BBOT",
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        await self.wait_for(lambda: any(not ws.closed for ws in self._sockets))
        ws = next(ws for ws in reversed(self._sockets) if not ws.closed)
        await ws.send_str(json.dumps(envelope))

    # -- checks -----------------------------------------------------------------------------

    def _check_blocks(self, where: str, blocks: Any) -> bool:
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not isinstance(blocks, list):
            self.violations.append(f"{where}: blocks is not a list")
            return False
        ok = True
        if len(blocks) > MAX_BLOCKS:
            self.violations.append(f"{where}: {len(blocks)} blocks (max {MAX_BLOCKS})")
            ok = False
        for raw, parsed in zip(blocks, Block.parse_all(blocks), strict=True):
            if parsed is None:
                self.violations.append(f"{where}: unknown block {raw.get('type')!r}")
                ok = False
                continue
            try:
                parsed.validate_json()
                parsed.to_dict()  # validates nested elements too
            except SlackObjectFormationError as exc:
                self.violations.append(f"{where}: {exc}")
                ok = False
            for item in raw.get("fields") or []:
                if _units(item.get("text", "")) > FIELD_LIMIT:
                    self.violations.append(f"{where}: a section field is over {FIELD_LIMIT}")
                    ok = False
        return ok

    def _auth_error(
        self, method: str, headers: dict[str, str], params: dict[str, Any]
    ) -> str | None:
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            self.violations.append(f"{method}: no token")
            return "not_authed"
        if token != expected:
            self.violations.append(f"{method}: wrong token kind or value")
            return "invalid_auth"
        return None

    # -- handlers ---------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            params.update(dict(await request.post()))
        return params

    async def _api(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._api_call(request)
        finally:
            self._changed.set()

    async def _api_call(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        headers = dict(request.headers)
        self.calls.append(Call(method, params, headers))
        if method in self._hangs:
            self._changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self._hangs[method])
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the caller gave up: nothing was done
        faults = self._faults.get(method)
        stormed = self._stormed(method)
        if faults or stormed is not None:
            fault = faults.pop(0) if faults else stormed
            assert fault is not None
            if fault.status == 429:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={
                        "Retry-After": str(1 if fault.retry_after is None else fault.retry_after)
                    },
                )
            if fault.status >= 500:
                return web.Response(
                    status=fault.status,
                    text="<html>upstream failure</html>",
                    content_type="text/html",
                )
            return web.json_response({"ok": False, "error": fault.error or "fatal_error"})
        error = self._auth_error(method, headers, params)
        if error is not None:
            return web.json_response({"ok": False, "error": error})
        return web.json_response(self._answer(method, params))

    def _stormed(self, method: str) -> Fault | None:
        """The storm's fault for this call, if it strikes."""
        if self._storm is None or method not in self._storm[0]:
            return None
        _, rate_limited, server_error, rng = self._storm
        draw = rng.random()
        if draw < rate_limited:
            return Fault(429, retry_after=rng.choice((0, 1)))
        if draw < rate_limited + server_error:
            return Fault(500)
        return None

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.test/",
                "team": "Acme",
                "user": "crmbot",
                "team_id": "T0001",
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "files.getUploadURLExternal":
            if not params.get("filename") or not str(params.get("length", "")).isdigit():
                self.violations.append("files.getUploadURLExternal: filename and length needed")
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):07d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            channel = str(params.get("channel_id", ""))
            for item in files:
                if item.get("id") not in self.uploads:
                    self.violations.append(f"files.completeUploadExternal: {item} never uploaded")
                    return {"ok": False, "error": "file_not_found"}
                self.shared.append((channel, str(item["id"]), str(item.get("title", ""))))
            return {"ok": True, "files": [{"id": item["id"]} for item in files]}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": self.usergroups}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{params.get('users', '')}"}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket-mode"}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in POSTS:
            return self._post(method, params)
        if method == "views.open":
            return self._open_view(params)
        if method in {"conversations.history", "conversations.replies"}:
            return self._history(method, params)
        self.violations.append(f"{method}: not a method crmbot should need")
        return {"ok": False, "error": "unknown_method"}

    def _post(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel, text = params.get("channel"), params.get("text")
        if not channel:
            self.violations.append(f"{method}: no channel")
            return {"ok": False, "error": "channel_not_found"}
        if not text:
            self.violations.append(f"{method}: no text (needed for notifications)")
            return {"ok": False, "error": "no_text"}
        blocks = params.get("blocks")
        if blocks is not None and not self._check_blocks(method, blocks):
            return {"ok": False, "error": "invalid_blocks"}
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if method == "chat.postEphemeral":
            if not params.get("user"):
                self.violations.append("chat.postEphemeral: no user")
                return {"ok": False, "error": "user_not_in_channel"}
            self.ephemerals.append(Call(method, params, {}))
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            message = self.messages.get((channel, str(params.get("ts"))))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.text, message.blocks = text, blocks or []
            message.edits += 1
            return {"ok": True, "channel": channel, "ts": message.ts, "text": text}
        ts = self._next_ts()
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        self.messages[(channel, ts)] = Message(
            channel, ts, text, blocks or [], thread_ts=params.get("thread_ts"), metadata=metadata
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}

    def _open_view(self, params: dict[str, Any]) -> dict[str, Any]:
        """views.open: a trigger id (Slack's expire after 3 s and open one view), a modal
        within Slack's limits (slack_sdk's View checks title, buttons, private_metadata)."""
        trigger, view = params.get("trigger_id"), params.get("view")
        if not trigger:
            self.violations.append("views.open: no trigger_id")
            return {"ok": False, "error": "invalid_arguments"}
        if any(v.trigger_id == trigger for v in self.views):
            self.violations.append("views.open: a trigger_id used twice")
            return {"ok": False, "error": "expired_trigger_id"}
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            self.violations.append("views.open: the view is not a modal")
            return {"ok": False, "error": "invalid_arguments"}
        try:
            View(**view).validate_json()
        except (SlackObjectFormationError, TypeError) as exc:
            self.violations.append(f"views.open: {exc}")
            return {"ok": False, "error": "invalid_arguments"}
        if not self._check_blocks("views.open", view.get("blocks")):
            return {"ok": False, "error": "invalid_arguments"}
        opened = OpenedView(f"V{next(self._ts):08d}", str(trigger), view)
        self.views.append(opened)
        return {"ok": True, "view": {**view, "id": opened.id}}

    def _history(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages) and .replies (a thread), newest first,
        from ``oldest``; metadata only with ``include_all_metadata``."""
        channel, oldest = params.get("channel"), float(params.get("oldest") or 0)
        thread = params.get("ts") if method == "conversations.replies" else None
        if method == "conversations.replies" and not thread:
            return {"ok": False, "error": "thread_not_found"}
        found = []
        for m in sorted(self.messages.values(), key=lambda m: float(m.ts), reverse=True):
            in_scope = m.thread_ts == thread or (thread is not None and m.ts == thread)
            if m.channel != channel or not in_scope or float(m.ts) < oldest:
                continue
            item: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text}
            if m.metadata is not None and str(params.get("include_all_metadata")).lower() in {
                "1",
                "true",
            }:
                item["metadata"] = m.metadata
            found.append(item)
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)]}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        self._changed.set()
        return web.Response(text="OK")

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = request.match_info["name"]
        if "blocks" in body:
            self._check_blocks(f"response_url {name}", body["blocks"])
        if not body.get("text") and not body.get("blocks"):
            self.violations.append(f"response_url {name}: empty message")
        self.answers.append(Answer(name, body))
        self._changed.set()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        self._changed.set()
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0001"},
                    "debug_info": {"host": "fake"},
                }
            )
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks.append(data)
                    self._changed.set()
        return ws
