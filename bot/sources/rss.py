"""RSS 2.0 / Atom feeds (blogs, news, review sites) -> mentions on platform ``rss``.

The feed is fetched with httpx (conditional GET: the stored ETag and Last-Modified go out
as If-None-Match / If-Modified-Since, and a 304 means nothing new) and parsed by
feedparser from the bytes, so feedparser never touches the network itself.

Cursor: ``{"etag", "modified", "since"}``. ``since`` is fixed at the first poll (that
time minus ``backfill``): older entries are never alerted; newer ones are handed to
ingest on every changed fetch, and deduplication by entry id keeps each one once.
Each entry is its own conversation (``thread_id`` = its id).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx

from bot.sources.backoff import retry_after_seconds
from bot.sources.base import USER_AGENT, PollResult, html_to_text, parse_time
from bot.sources.errors import RateLimited, SourceError
from handlers.config_sources import RssSource
from handlers.events import Mention

PLATFORM = "rss"
MAX_TEXT = 4000


class RssConnector:
    """Polls one feed URL."""

    def __init__(
        self,
        config: RssSource,
        env: Mapping[str, str] | None = None,  # a feed needs no secrets
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.host = urlsplit(config.url).hostname or config.url
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(20.0),
            follow_redirects=True,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.8",
            },
        )

    async def poll(self, cursor: dict[str, Any], now: datetime) -> PollResult:
        since = parse_time(cursor.get("since")) or now - self.config.backfill
        headers: dict[str, str] = {}
        if cursor.get("etag"):
            headers["If-None-Match"] = str(cursor["etag"])
        if cursor.get("modified"):
            headers["If-Modified-Since"] = str(cursor["modified"])
        response = await self._get(headers, now)
        kept = {"etag": cursor.get("etag"), "modified": cursor.get("modified")}
        if response.status_code == 304:
            return PollResult([], {**kept, "since": since.isoformat()})
        parsed = feedparser.parse(
            response.content,
            response_headers={k.lower(): v for k, v in response.headers.items()},
        )
        if parsed.get("bozo") and not parsed.get("entries"):
            problem = type(parsed.get("bozo_exception")).__name__
            raise SourceError(f"{self.host} did not answer with an RSS or Atom feed ({problem})")
        events = [
            event
            for entry in parsed.get("entries", [])
            if (event := self._mention(entry, parsed.get("feed", {}), now)) is not None
            and event.posted_at >= since
            and self._wanted(event)
        ]
        events.sort(key=lambda e: e.posted_at)
        return PollResult(
            events,
            {
                "etag": response.headers.get("etag"),
                "modified": response.headers.get("last-modified"),
                "since": since.isoformat(),
            },
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(self, headers: dict[str, str], now: datetime) -> httpx.Response:
        try:
            response = await self._client.get(self.config.url, headers=headers)
        except httpx.TimeoutException:
            raise SourceError(f"timed out fetching the feed from {self.host}") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"could not reach {self.host} ({type(exc).__name__})") from None
        status = response.status_code
        if status == 429 or (status == 503 and "retry-after" in response.headers):
            wait = retry_after_seconds(response.headers.get("retry-after"), now)
            raise RateLimited(f"{self.host} asked to slow down (HTTP {status})", wait)
        if status >= 400:
            raise SourceError(f"HTTP {status} from {self.host}")
        return response

    def _wanted(self, event: Mention) -> bool:
        if not self.config.keywords:
            return True
        text = event.text.casefold()
        return any(k.casefold() in text for k in self.config.keywords)

    def _mention(self, entry: Any, feed: Any, now: datetime) -> Mention | None:
        link = entry.get("link")
        entry_id = entry.get("id") or link
        title = html_to_text(entry.get("title", ""))
        summary = html_to_text(entry.get("summary", ""))
        if not entry_id:
            if not (title or summary):
                return None
            entry_id = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:32]
        text = "\n\n".join(part for part in (title, summary) if part)[:MAX_TEXT]
        if not text:
            return None
        external_id = entry_id if _is_absolute(entry_id) else f"{self.config.url}#{entry_id}"
        site = urlsplit(link or feed.get("link") or self.config.url).hostname or self.host
        language = feed.get("language") or entry.get("language")
        return Mention(
            source=PLATFORM,
            external_id=external_id,
            platform=PLATFORM,
            author_handle=site,
            author_name=entry.get("author") or feed.get("title") or site,
            text=text,
            posted_at=_entry_time(entry) or now,
            url=link,
            thread_id=external_id,
            lang=language.split("-")[0].lower() if language else None,
            raw={"id": entry_id, "link": link, "title": title, "feed": self.config.url},
        )


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _is_absolute(value: str) -> bool:
    return "://" in value or value.startswith(("tag:", "urn:"))
