"""Loopback fakes of the social platforms' HTTP APIs, for the pollers and the publishers.

:class:`FakePlatform` is an aiohttp server on 127.0.0.1:0 with per-path handlers, a log of
every request and a queue of faults; the platform modules below register handlers on it
that speak each platform's real format (Mastodon REST, Bluesky XRPC, Reddit's OAuth API)
and keep what was posted, so a test asserts what a user would see on the platform.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sources.signatures import CRMBOT_HEADER, SignatureError, verify_crmbot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class FakePlatform:
    """An aiohttp server on 127.0.0.1:0 with per-path handlers, a request log and faults."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Seen] = []
        self.faults: list[web.Response] = []
        self.base = ""
        self._runner: web.AppRunner | None = None

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Seen(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        if self.faults:
            return self.faults.pop(0)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return web.json_response({"error": "Record not found"}, status=404)
        return await handler(request)


@asynccontextmanager
async def running_platform() -> AsyncIterator[FakePlatform]:
    """A started :class:`FakePlatform`, stopped on exit."""
    platform = FakePlatform()
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


class WebhookReceiver:
    """The far end of an outbound webhook: checks the signature with the same code that
    checks inbound webhooks, drops repeats by ``Idempotency-Key`` (the documented
    contract) and answers ``{"id", "url"}`` of what it delivered."""

    def __init__(self, platform: FakePlatform, secret: str, path: str = "/hooks/crmbot") -> None:
        self.secret = secret
        self.path = path
        self.delivered: dict[str, dict[str, Any]] = {}
        self.refused: list[str] = []
        platform.on("POST", path, self._receive)
        self._platform = platform

    @property
    def url(self) -> str:
        return f"{self._platform.base}{self.path}"

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            verify_crmbot(self.secret, body, request.headers.get(CRMBOT_HEADER))
        except SignatureError as exc:
            self.refused.append(exc.reason)
            return web.json_response({"error": exc.reason}, status=401)
        envelope = json.loads(body)
        key = request.headers["Idempotency-Key"]
        assert envelope["id"] == key
        if key not in self.delivered:
            self.delivered[key] = envelope
        number = list(self.delivered).index(key) + 1
        return web.json_response({"id": f"msg-{number}", "url": f"https://x.example/s/{number}"})
