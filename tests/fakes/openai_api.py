"""A loopback fake of an OpenAI-compatible server (``POST /v1/chat/completions``).

It records every request body and answers from a queue of scripted behaviours: a JSON
answer, raw text, a refusal, or holding the request until released (to test timeouts and
that a slow model never delays an alert). The real ``openai`` client talks to it via
``base_url``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_ANSWER = {
    "reply": "Sorry about that! We're on it and will update you here shortly.",
    "tone": "apologetic",
    "confidence": 0.8,
    "needs_human": False,
    "reason": "",
}


@dataclass
class Behaviour:
    content: str | None = None
    refusal: str | None = None
    hold: asyncio.Event | None = None
    status: int = 200


@dataclass
class FakeOpenAI:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    script: list[Behaviour] = field(default_factory=list)
    received: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    _runner: web.AppRunner | None = None

    def answer(self, **fields: Any) -> None:
        self.script.append(Behaviour(content=json.dumps({**DEFAULT_ANSWER, **fields})))

    def raw(self, content: str) -> None:
        self.script.append(Behaviour(content=content))

    def refuse(self, text: str = "I can't help with that.") -> None:
        self.script.append(Behaviour(refusal=text))

    def hold(self, until: asyncio.Event) -> None:
        self.script.append(Behaviour(content=json.dumps(DEFAULT_ANSWER), hold=until))

    async def _completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self.received.set()
        behaviour = self.script.pop(0) if self.script else Behaviour(json.dumps(DEFAULT_ANSWER))
        if behaviour.hold is not None:
            await behaviour.hold.wait()
        message: dict[str, Any] = {"role": "assistant", "content": behaviour.content}
        if behaviour.refusal is not None:
            message = {"role": "assistant", "content": None, "refusal": behaviour.refusal}
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
            },
            status=behaviour.status,
        )

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
