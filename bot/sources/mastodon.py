"""Mastodon hashtag timelines and status search -> mentions on platform ``mastodon``.

Uses Mastodon.py (synchronous, run in a worker thread) against the configured
``api_base_url``, with ``ratelimit_method="throw"`` so a rate limit becomes backoff here
instead of a sleep inside the library.

Cursor: one ``min_id`` per stream (``tag:<hashtag>``, ``q:<query>``): the newest status
id seen. Hashtag timelines page forward from it (``min_id``), up to ``MAX_PAGES`` pages
per poll; the rest is read on the next poll. The first poll reads the newest page and
keeps what is younger than ``backfill``. Statuses are identified by their ActivityPub
``uri``, which is the same on every instance, so the same post found twice is one mention.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonUnauthorizedError,
)

from bot.sources.base import USER_AGENT, PollResult, env_secret, html_to_text
from bot.sources.errors import RateLimited, SourceError
from handlers.config_sources import MastodonSource
from handlers.events import Mention

PLATFORM = "mastodon"
PAGE = 40
MAX_PAGES = 5


class MastodonConnector:
    """Polls the hashtags and queries of one instance."""

    def __init__(self, config: MastodonSource, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env
        self.host = urlsplit(config.api_base_url).hostname or config.api_base_url
        self._api: Mastodon | None = None

    async def poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        return await asyncio.to_thread(self._poll, cursor, now)

    async def close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            await asyncio.to_thread(api.session.close)

    # -- in a worker thread ----------------------------------------------------

    def _client(self) -> Mastodon:
        if self._api is None:
            token = env_secret(self.env, self.config.token_env) if self.config.token_env else None
            self._api = Mastodon(
                access_token=token,
                api_base_url=self.config.api_base_url,
                ratelimit_method="throw",
                request_timeout=20,
                version_check_mode="none",
                user_agent=USER_AGENT,
            )
        return self._api

    def _poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        api = self._client()
        cutoff = now - self.config.backfill
        new_cursor = dict(cursor)
        found: dict[str, Mention] = {}
        try:
            for tag in self.config.hashtags:
                name = tag.lstrip("#").lower()
                key = f"tag:{name}"
                statuses, newest = self._hashtag(api, name, cursor.get(key))
                self._collect(statuses, found, None if key in cursor else cutoff)
                if newest is not None:
                    new_cursor[key] = newest
            for query in self.config.queries:
                key = f"q:{query}"
                since = cursor.get(key)
                result = api.search_v2(
                    query, resolve=False, result_type="statuses", min_id=since, limit=PAGE
                )
                statuses = list(_get(result, "statuses") or [])
                self._collect(statuses, found, None if key in cursor else cutoff)
                newest = _newest(statuses, since)
                if newest is not None:
                    new_cursor[key] = newest
        except MastodonError as exc:
            raise self._error(api, exc) from None
        events = sorted(found.values(), key=lambda m: m.posted_at)
        return PollResult(events, new_cursor)

    def _hashtag(self, api: Mastodon, tag: str, since: str | None) -> tuple[list[Any], str | None]:
        statuses: list[Any] = []
        newest = since
        for _ in range(MAX_PAGES):
            page = list(api.timeline_hashtag(tag, min_id=newest, limit=PAGE))
            statuses.extend(page)
            newest = _newest(page, newest)
            if since is None or len(page) < PAGE:
                break  # the first poll reads one page; later ones page forward until caught up
        return statuses, newest

    def _collect(
        self, statuses: list[Any], found: dict[str, Mention], cutoff: datetime | None
    ) -> None:
        for status in statuses:
            if _get(status, "reblog"):
                continue
            mention = self._mention(status)
            if mention is not None and (cutoff is None or mention.posted_at >= cutoff):
                found.setdefault(mention.external_id, mention)

    def _mention(self, status: Any) -> Mention | None:
        account = _get(status, "account") or {}
        acct = str(_get(account, "acct") or "")
        posted = _get(status, "created_at")
        if not acct or not isinstance(posted, datetime):
            return None
        home = urlsplit(str(_get(account, "url") or "")).hostname or self.host
        handle = acct if "@" in acct else f"{acct}@{home}"
        text = html_to_text(str(_get(status, "content") or ""))
        warning = _get(status, "spoiler_text")
        if warning:
            text = f"CW: {warning}\n{text}"
        if not text:
            return None
        return Mention(
            source=PLATFORM,
            external_id=str(_get(status, "uri") or _get(status, "url") or _get(status, "id")),
            platform=PLATFORM,
            author_handle=handle,
            author_name=_get(account, "display_name") or None,
            author_followers=int(_get(account, "followers_count") or 0),
            text=text,
            posted_at=posted,
            url=_get(status, "url") or _get(status, "uri"),
            lang=_get(status, "language") or None,
            reply_ref={
                "id": str(_get(status, "id")),
                "visibility": str(_get(status, "visibility") or "public"),
                "instance": self.host,
            },
            raw={"id": str(_get(status, "id")), "instance": self.host},
        )

    def _error(self, api: Mastodon, exc: MastodonError) -> SourceError:
        if isinstance(exc, MastodonRatelimitError):
            reset = getattr(api, "ratelimit_reset", None)
            wait = max(0.0, float(reset) - time.time()) if reset else None
            return RateLimited(f"{self.host} rate limit reached", wait)
        if isinstance(exc, MastodonUnauthorizedError):
            name = self.config.token_env or "an access token"
            return SourceError(f"{self.host} refused the access token (check {name})")
        if isinstance(exc, MastodonNotFoundError):
            return SourceError(f"{self.host} answered 404 (is api_base_url a Mastodon instance?)")
        if isinstance(exc, MastodonNetworkError):
            return SourceError(f"could not reach {self.host}")
        if isinstance(exc, MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
            return SourceError(f"HTTP {status or 'error'} from {self.host}")
        return SourceError(f"{self.host}: {type(exc).__name__}")


def _get(obj: Any, key: str) -> Any:
    """A field of a Mastodon.py result (attribute-style dicts) or a plain dict."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _newest(statuses: list[Any], since: str | None) -> str | None:
    ids = [int(str(_get(s, "id"))) for s in statuses if str(_get(s, "id") or "").isdigit()]
    if since is not None and str(since).isdigit():
        ids.append(int(since))
    return str(max(ids)) if ids else since
