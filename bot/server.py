"""The HTTP side of `crmbot run`: health, metrics, plus the routes adapters and sources
contribute."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app import CrmBot
from bot.chat.base import ChatAdapter
from storage import outbox as outbox_store

CHECK_TIMEOUT = 2.0  # seconds a health check may take before it counts as down


def _database_check(bot: CrmBot) -> int:
    with bot.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with bot.db.session() as session:
        return outbox_store.pending_count(session)


async def _adapter_check(adapter: ChatAdapter) -> bool:
    try:
        return bool(await asyncio.wait_for(adapter.healthy(), CHECK_TIMEOUT))
    except Exception:
        return False


def build_http_app(bot: CrmBot, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI app served by uvicorn: ``GET /healthz``, ``GET /metrics`` and ``routes``."""

    async def healthz(request: Request) -> JSONResponse:
        body: dict[str, Any] = {"ok": True, "database": "ok", "chat": {}}
        down: list[str] = []
        try:
            pending = await asyncio.wait_for(asyncio.to_thread(_database_check, bot), CHECK_TIMEOUT)
            body["outbox_pending"] = pending
        except Exception:
            body["database"] = "down"
            down.append("database")
        checks = await asyncio.gather(*(_adapter_check(a) for a in bot.adapters.values()))
        for platform, ok in zip(bot.adapters, checks, strict=True):
            body["chat"][platform] = "ok" if ok else "down"
            if not ok:
                down.append(f"chat:{platform}")
        if down:
            body["ok"] = False
            body["down"] = down
        return JSONResponse(body, status_code=503 if down else 200)

    async def metrics(request: Request) -> Response:
        payload = await asyncio.to_thread(bot.metrics.exposition)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *routes,
        ]
    )
