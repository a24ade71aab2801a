"""The HTTP side of `crmbot run`: health, plus the routes adapters and sources contribute."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.app import CrmBot
from storage import outbox as outbox_store


def build_http_app(bot: CrmBot, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI app served by uvicorn: ``GET /healthz`` and ``routes``."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            with bot.db.session() as session:
                pending = outbox_store.pending_count(session)
        except Exception:
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "outbox_pending": pending})

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), *routes])
