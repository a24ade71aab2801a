"""Replies on Reddit: a comment under the post (or comment) being answered, with asyncpraw,
from the account of a ``[sources.reddit.NAME]`` table.

Posting needs a Reddit *user*: the app-only credentials the poller uses are read-only.
Give either a refresh token of the app for that user (``refresh_token_env``, default
``REDDIT_REFRESH_TOKEN``) or, for a "script" app, the user's name and password
(``username_env`` / ``password_env``, default ``REDDIT_USERNAME`` / ``REDDIT_PASSWORD``),
next to the app's ``client_id_env`` / ``client_secret_env``. Without them a reply fails
at once, saying so, and is not retried.

Reddit keeps no idempotency key, so :meth:`RedditPublisher.find` reads the account's
newest comments for one under the same post with the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import asyncpraw
import asyncprawcore
from asyncpraw import exceptions as praw_errors
from asyncprawcore import exceptions as core_errors

from bot.publish.errors import env_secret
from bot.publish.limits import REDDIT
from bot.publish.targets import pick_source
from bot.sources.reddit import PUBLIC_URL
from handlers.config_sources import RedditSource
from handlers.publish_port import OutboundReply, Published, PublishError, TextLimit

RECENT = 100
_WAIT = re.compile(r"(\d+)\s*(second|minute)", re.IGNORECASE)


class RedditPublisher:
    """Comments from the user accounts of the ``[sources.reddit.*]`` tables."""

    source_kind = "reddit"

    def __init__(
        self,
        sources: Mapping[str, RedditSource],
        env: Mapping[str, str],
        requestor_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.sources = dict(sources)
        self.env = env
        self._requestor_kwargs = requestor_kwargs
        self._clients: dict[str, asyncpraw.Reddit] = {}

    def limit(self, platform: str) -> TextLimit:
        return REDDIT

    async def publish(self, reply: OutboundReply) -> Published:
        name, config = pick_source("reddit", self.sources, reply.target)
        reddit = self._client(name, config)
        fullname = _fullname(reply)
        try:
            if fullname.startswith("t1_"):
                parent: Any = await reddit.comment(fullname[3:], fetch=False)
            else:
                parent = await reddit.submission(fullname.removeprefix("t3_"), fetch=False)
            comment = await parent.reply(reply.text)
        except (asyncprawcore.AsyncPrawcoreException, praw_errors.RedditAPIException) as exc:
            raise _error(config, exc) from None
        if comment is None:  # a quarantined subreddit: the comment exists, Reddit hid it
            found = await self.find(reply)
            if found is None:
                raise PublishError("Reddit did not return the comment; checking again later")
            return found
        return _published(comment)

    async def find(self, reply: OutboundReply) -> Published | None:
        name, config = pick_source("reddit", self.sources, reply.target)
        reddit = self._client(name, config)
        fullname = _fullname(reply)
        body = reply.text.strip()
        try:
            me = await reddit.user.me()
            if me is None:
                return None
            async for comment in me.comments.new(limit=RECENT):
                if comment.parent_id == fullname and str(comment.body).strip() == body:
                    return _published(comment)
        except (asyncprawcore.AsyncPrawcoreException, praw_errors.RedditAPIException) as exc:
            raise _error(config, exc) from None
        return None

    async def close(self) -> None:
        """Close the HTTP sessions."""
        clients, self._clients = self._clients, {}
        for reddit in clients.values():
            await reddit.close()

    def _client(self, name: str, config: RedditSource) -> asyncpraw.Reddit:
        if name in self._clients:
            return self._clients[name]
        app: dict[str, Any] = {
            "client_id": env_secret(self.env, config.client_id_env, f"the app id of {name}"),
            "client_secret": env_secret(
                self.env, config.client_secret_env, f"the app secret of {name}"
            ),
        }
        user: dict[str, Any]
        if self.env.get(config.refresh_token_env, "").strip():
            user = {"refresh_token": self.env[config.refresh_token_env].strip()}
        elif self.env.get(config.username_env, "").strip():
            user = {
                "username": self.env[config.username_env].strip(),
                "password": env_secret(
                    self.env, config.password_env, f"the password of the Reddit user of {name}"
                ),
            }
        else:
            raise PublishError(
                f"replying on Reddit needs a Reddit user: set {config.refresh_token_env}, or "
                f"{config.username_env} and {config.password_env} (a script app); the app "
                f"credentials alone ({config.client_id_env}, {config.client_secret_env}) are "
                "read-only and cannot post",
                permanent=True,
            )
        self._clients[name] = asyncpraw.Reddit(
            **app,
            **user,
            user_agent=config.user_agent,
            oauth_url=config.oauth_url,
            reddit_url=config.reddit_url,
            check_for_updates=False,
            requestor_kwargs=self._requestor_kwargs,
        )
        return self._clients[name]


def _fullname(reply: OutboundReply) -> str:
    fullname = reply.target.reply_ref.get("fullname") or reply.target.external_id
    if not re.fullmatch(r"t[13]_[a-z0-9]+", fullname):
        raise PublishError(
            f"cannot answer {fullname!r} on Reddit: not a post or comment id", permanent=True
        )
    return fullname


def _published(comment: Any) -> Published:
    permalink = str(getattr(comment, "permalink", "") or "")
    return Published(
        external_id=str(comment.fullname), url=f"{PUBLIC_URL}{permalink}" if permalink else None
    )


def _error(config: RedditSource, exc: Exception) -> PublishError:
    if isinstance(exc, praw_errors.RedditAPIException):
        item = exc.items[0]
        if item.error_type == "RATELIMIT":
            found = _WAIT.search(item.message or "")
            wait = None
            if found:
                wait = float(found.group(1)) * (60 if found.group(2).lower() == "minute" else 1)
            return PublishError(f"Reddit: {item.message}", retry_after=wait)
        return PublishError(f"Reddit refused the comment: {item.message}", permanent=True)
    if isinstance(exc, core_errors.TooManyRequests):
        wait = float(exc.retry_after) if exc.retry_after else None
        return PublishError("Reddit rate limit reached (HTTP 429)", retry_after=wait)
    if isinstance(exc, core_errors.OAuthException | core_errors.InvalidToken):
        return PublishError(
            "Reddit refused the credentials (check "
            f"{config.client_id_env}, {config.client_secret_env} and "
            f"{config.refresh_token_env} or {config.username_env}/{config.password_env})",
            permanent=True,
        )
    if isinstance(exc, core_errors.ServerError):
        return PublishError(f"HTTP {exc.response.status} from Reddit")
    if isinstance(exc, core_errors.ResponseException):
        status = exc.response.status
        if status == 403:
            return PublishError(
                "Reddit refused the comment (HTTP 403): the post is locked or archived, "
                "or the account may not comment there",
                permanent=True,
            )
        if status == 404:
            return PublishError("Reddit answered 404: the post was deleted?", permanent=True)
        return PublishError(f"HTTP {status} from Reddit", permanent=400 <= status < 500)
    if isinstance(exc, core_errors.RequestException):
        return PublishError("could not reach Reddit")
    return PublishError(f"Reddit: {type(exc).__name__}")
