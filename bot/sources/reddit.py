"""Reddit: new posts (or a keyword search, newest first) in some subreddits -> mentions
on platform ``reddit``.

Uses asyncpraw with application-only OAuth (client id and secret from the environment,
read-only), pointed at ``oauth_url`` / ``reddit_url`` from the config. Listings are
newest first and hold up to ``LIMIT`` posts; Reddit's ``before=`` paging is unreliable
(it returns nothing once the anchor post is deleted), so the cursor is the newest
``created_utc`` seen per stream (``new``, ``q:<query>``) plus the fullnames seen at that
second, and each poll keeps what is at least that new. Deduplication by fullname
(``t3_...``) makes the overlap harmless. Each post is its own conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpraw
import asyncprawcore
from asyncprawcore import exceptions as reddit_errors

from bot.sources.base import PollResult, env_secret
from bot.sources.errors import RateLimited, SourceError
from handlers.config_sources import RedditSource
from handlers.events import Mention

PLATFORM = "reddit"
LIMIT = 100
PUBLIC_URL = "https://www.reddit.com"
MAX_TEXT = 4000


class RedditConnector:
    """Polls the subreddits of one ``[sources.reddit.<name>]`` table."""

    def __init__(
        self,
        config: RedditSource,
        env: Mapping[str, str],
        requestor_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.env = env
        self._requestor_kwargs = requestor_kwargs
        self._reddit: asyncpraw.Reddit | None = None

    def _client(self) -> asyncpraw.Reddit:
        if self._reddit is None:
            self._reddit = asyncpraw.Reddit(
                client_id=env_secret(self.env, self.config.client_id_env),
                client_secret=env_secret(self.env, self.config.client_secret_env),
                user_agent=self.config.user_agent,
                oauth_url=self.config.oauth_url,
                reddit_url=self.config.reddit_url,
                check_for_updates=False,
                requestor_kwargs=self._requestor_kwargs,
            )
            self._reddit.read_only = True
        return self._reddit

    async def poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        reddit = self._client()
        names = "+".join(s.removeprefix("r/") for s in self.config.subreddits)
        cutoff = (now - self.config.backfill).timestamp()
        new_cursor = dict(cursor)
        found: dict[str, Mention] = {}
        try:
            subreddit = await reddit.subreddit(names)
            streams: list[tuple[str, AsyncIterator[Any]]]
            if self.config.queries:
                streams = [
                    (f"q:{q}", subreddit.search(q, sort="new", time_filter="week", limit=LIMIT))
                    for q in self.config.queries
                ]
            else:
                streams = [("new", subreddit.new(limit=LIMIT))]
            for key, listing in streams:
                mark = cursor.get(key) or {}
                since = float(mark.get("created_utc", cutoff))
                seen = set(mark.get("names", []))
                posts = [post async for post in listing]
                fresh = [
                    p
                    for p in posts
                    if float(p.created_utc) > since
                    or (float(p.created_utc) == since and p.name not in seen)
                ]
                for post in fresh:
                    found.setdefault(post.name, _mention(post))
                new_cursor[key] = _mark(posts, mark)
        except asyncprawcore.AsyncPrawcoreException as exc:
            raise self._error(exc) from None
        events = sorted(found.values(), key=lambda m: m.posted_at)
        return PollResult(events, new_cursor)

    async def close(self) -> None:
        reddit, self._reddit = self._reddit, None
        if reddit is not None:
            await reddit.close()

    def _error(self, exc: Exception) -> SourceError:
        if isinstance(exc, reddit_errors.TooManyRequests):
            wait = float(exc.retry_after) if exc.retry_after else None
            return RateLimited("Reddit rate limit reached (HTTP 429)", wait)
        if isinstance(exc, reddit_errors.OAuthException | reddit_errors.InvalidToken):
            return SourceError(
                "Reddit refused the app credentials (check "
                f"{self.config.client_id_env} and {self.config.client_secret_env})"
            )
        if isinstance(exc, reddit_errors.ResponseException):
            status = exc.response.status
            if status in (401, 403):
                return SourceError(f"Reddit refused access (HTTP {status}): private subreddit?")
            if status == 404:
                return SourceError("Reddit answered 404: check the subreddit names")
            return SourceError(f"HTTP {status} from Reddit")
        if isinstance(exc, reddit_errors.RequestException):
            return SourceError("could not reach Reddit")
        return SourceError(f"Reddit: {type(exc).__name__}")


def _mark(posts: list[Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The newest created_utc among ``posts`` (or the old mark) and the fullnames at it."""
    newest = float(previous.get("created_utc", 0.0))
    names = set(previous.get("names", []))
    for post in posts:
        created = float(post.created_utc)
        if created > newest:
            newest, names = created, {post.name}
        elif created == newest:
            names.add(post.name)
    if not posts and not previous:
        return {}
    return {"created_utc": newest, "names": sorted(names)}


def _mention(post: Any) -> Mention:
    author = post.author.name if post.author is not None else "[deleted]"
    title = str(post.title or "")
    body = str(getattr(post, "selftext", "") or "")
    text = f"{title}\n\n{body}".strip()[:MAX_TEXT]
    return Mention(
        source=PLATFORM,
        external_id=str(post.name),
        platform=PLATFORM,
        author_handle=author,
        author_name=author,
        text=text or str(post.url),
        posted_at=datetime.fromtimestamp(float(post.created_utc), UTC),
        url=f"{PUBLIC_URL}{post.permalink}",
        thread_id=str(post.name),
        reply_ref={"fullname": str(post.name)},
        raw={"subreddit": str(post.subreddit), "id": str(post.id), "score": post.score},
    )
