"""Bluesky post search (``app.bsky.feed.searchPosts``) -> mentions on platform ``bluesky``.

Uses the atproto SDK's AsyncClient at ``base_url`` (the account's PDS, which proxies the
search to the AppView), logged in with a handle and an app password from the
environment. The session is kept between polls (``createSession`` is rate-limited to a
few hundred a day) and refreshed by the SDK; an expired one is dropped and re-created.

Cursor: the newest ``indexedAt`` seen per query (``q:<query>``). Each poll asks for
``sort=latest`` posts ``since`` that time minus ``OVERLAP`` (``since`` compares Bluesky's
``sortAt``, which can be a little older than ``indexedAt``), following the result cursor
for up to ``MAX_PAGES`` pages; deduplication by the post's ``at://`` URI drops the overlap.
Like Mastodon posts, Bluesky posts group into conversations by author.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from atproto import AsyncClient, models
from atproto_client import exceptions as at_errors

from bot.sources.base import PollResult, env_secret, parse_time
from bot.sources.errors import RateLimited, SourceError
from handlers.config_sources import BlueskySource
from handlers.events import Mention

PLATFORM = "bluesky"
PAGE = 100
MAX_PAGES = 5
OVERLAP = timedelta(minutes=5)
WEB = "https://bsky.app"


class BlueskyConnector:
    """Polls the queries of one ``[sources.bluesky.<name>]`` table."""

    def __init__(self, config: BlueskySource, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env
        self._client: AsyncClient | None = None

    async def _login(self) -> AsyncClient:
        if self._client is None:
            handle = env_secret(self.env, self.config.handle_env)
            password = env_secret(self.env, self.config.app_password_env)
            client = AsyncClient(base_url=self.config.base_url)
            await client.login(handle, password, fetch_bsky_profile=False)
            self._client = client
        return self._client

    async def poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        new_cursor = dict(cursor)
        found: dict[str, Mention] = {}
        try:
            client = await self._login()
            for query in self.config.queries:
                key = f"q:{query}"
                mark = parse_time(cursor.get(key))
                since = mark - OVERLAP if mark else now - self.config.backfill
                posts = await self._search(client, query, since)
                for post in posts:
                    mention = _mention(post)
                    if mention is not None:
                        found.setdefault(mention.external_id, mention)
                newest = max((p.indexed_at for p in posts), default=None, key=_sort_key)
                if newest is not None and (mark is None or _sort_key(newest) > mark.timestamp()):
                    new_cursor[key] = newest
        except at_errors.AtProtocolError as exc:
            if isinstance(exc, at_errors.UnauthorizedError):
                await self.close()  # log in afresh next time
            raise self._error(exc) from None
        events = sorted(found.values(), key=lambda m: m.posted_at)
        return PollResult(events, new_cursor)

    async def _search(self, client: AsyncClient, query: str, since: datetime) -> list[Any]:
        posts: list[Any] = []
        page_cursor: str | None = None
        since_text = since.isoformat().replace("+00:00", "Z")
        for _ in range(MAX_PAGES):
            response = await client.app.bsky.feed.search_posts(
                models.AppBskyFeedSearchPosts.Params(
                    q=query, sort="latest", since=since_text, limit=PAGE, cursor=page_cursor
                )
            )
            posts.extend(response.posts)
            page_cursor = response.cursor
            if not page_cursor or len(response.posts) < PAGE:
                break
        return posts

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.request.close()

    def _error(self, exc: at_errors.AtProtocolError) -> SourceError:
        if isinstance(exc, at_errors.RateLimitExceededError):
            wait = exc.retry_after
            if wait is None and exc.reset_at is not None:
                wait = max(0.0, exc.reset_at.timestamp() - time.time())
            return RateLimited("Bluesky rate limit reached (HTTP 429)", wait)
        if isinstance(exc, at_errors.UnauthorizedError):
            return SourceError(
                "Bluesky refused the login (check "
                f"{self.config.handle_env} and {self.config.app_password_env})"
            )
        if isinstance(exc, at_errors.RequestErrorBase):
            if exc.response is None:
                return SourceError("could not reach Bluesky")
            return SourceError(f"HTTP {exc.response.status_code} from Bluesky")
        return SourceError(f"Bluesky: {type(exc).__name__}")


def _sort_key(value: str) -> float:
    parsed = parse_time(value)
    return parsed.timestamp() if parsed else 0.0


def _mention(post: Any) -> Mention | None:
    record = post.record
    text = str(getattr(record, "text", "") or "")
    posted = parse_time(getattr(record, "created_at", None)) or parse_time(post.indexed_at)
    if not text or posted is None:
        return None
    author = post.author
    rkey = str(post.uri).rsplit("/", 1)[-1]
    reply = getattr(record, "reply", None)
    root = str(reply.root.uri) if reply is not None else None
    root_cid = str(reply.root.cid) if reply is not None else str(post.cid)
    langs = getattr(record, "langs", None) or []
    return Mention(
        source=PLATFORM,
        external_id=str(post.uri),
        platform=PLATFORM,
        author_handle=str(author.handle),
        author_name=getattr(author, "display_name", None) or None,
        text=text,
        posted_at=posted,
        url=f"{WEB}/profile/{author.handle}/post/{rkey}",
        lang=str(langs[0]).split("-")[0].lower() if langs else None,
        reply_ref={
            "uri": str(post.uri),
            "cid": str(post.cid),
            "root_uri": root or str(post.uri),
            "root_cid": root_cid,
        },
        raw={
            "uri": str(post.uri),
            "cid": str(post.cid),
            "indexed_at": post.indexed_at,
            "root": root,
        },
    )
