"""The ``[sources.*]`` tables of the config file: webhooks, HubSpot, and the pollers.

Secrets are never in the file: a source names the environment variables that hold them
(``token_env = "MASTODON_TOKEN"``), and a value that does not look like a variable name is
refused, so a pasted token is an error instead of a secret in the config.

Each poller is a table under its platform, keyed by a name of the admin's choosing::

    [sources.mastodon.fosstodon]
    api_base_url = "https://fosstodon.org"
    hashtags = ["acme"]
    every = "2m"

The name keys the poller's cursor and its notices; events carry the platform as their
``source`` (``rss``, ``mastodon``, ``reddit``, ``bluesky``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from handlers.durations import parse_duration

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


def _duration(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(
            "must name an environment variable (e.g. MASTODON_TOKEN), not hold the secret"
        )
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Url = Annotated[str, AfterValidator(_url)]
Terms = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PollerConfig(_Strict):
    """What every poller has: on/off, how often, and how far back its first poll looks."""

    enabled: bool = True
    every: Duration = timedelta(minutes=5)
    backfill: Duration = timedelta(days=1)

    @model_validator(mode="after")
    def _check_every(self) -> PollerConfig:
        if self.every < timedelta(seconds=30):
            raise ValueError("every: must be at least 30s")
        return self


class RssSource(PollerConfig):
    """An RSS or Atom feed (blog, news, review site)."""

    url: Url
    keywords: Terms = Field(default_factory=list)
    every: Duration = timedelta(minutes=15)


class MastodonSource(PollerConfig):
    """Hashtag timelines and status search on one Mastodon instance."""

    api_base_url: Url
    token_env: EnvName | None = None
    hashtags: Terms = Field(default_factory=list)
    queries: Terms = Field(default_factory=list)
    every: Duration = timedelta(minutes=2)

    @model_validator(mode="after")
    def _check_streams(self) -> MastodonSource:
        if not self.hashtags and not self.queries:
            raise ValueError("give at least one of hashtags or queries")
        if self.queries and self.token_env is None:
            raise ValueError("queries: status search needs token_env (an access token)")
        return self


class RedditSource(PollerConfig):
    """New posts (optionally only those matching ``queries``) in some subreddits.

    Polling uses the app's credentials alone (read-only). Replies need a Reddit user: a
    refresh token (``refresh_token_env``) or, for a script app, the user's name and
    password (``username_env``, ``password_env``).
    """

    subreddits: Annotated[Terms, Field(min_length=1)]
    queries: Terms = Field(default_factory=list)
    client_id_env: EnvName = "REDDIT_CLIENT_ID"
    client_secret_env: EnvName = "REDDIT_CLIENT_SECRET"
    refresh_token_env: EnvName = "REDDIT_REFRESH_TOKEN"
    username_env: EnvName = "REDDIT_USERNAME"
    password_env: EnvName = "REDDIT_PASSWORD"
    user_agent: str = Field("crmbot/0.1 (social CRM alerts)", min_length=1)
    oauth_url: Url = "https://oauth.reddit.com"
    reddit_url: Url = "https://www.reddit.com"


class BlueskySource(PollerConfig):
    """Bluesky post search (app.bsky.feed.searchPosts) for some queries."""

    queries: Annotated[Terms, Field(min_length=1)]
    handle_env: EnvName = "BLUESKY_HANDLE"
    app_password_env: EnvName = "BLUESKY_APP_PASSWORD"
    base_url: Url = "https://bsky.social"
    every: Duration = timedelta(minutes=2)


OutboundEvent = Literal["reply.create", "lead.create"]


def _all_outbound_events() -> list[OutboundEvent]:
    return ["reply.create", "lead.create"]


SourceName = Annotated[str, Field(min_length=1, max_length=200)]  # an event's ``source``


class OutboundWebhookConfig(_Strict):
    """``[sources.webhooks.outbound.NAME]``: a URL crmbot POSTs signed events to.

    ``reply.create`` carries staff replies to mentions of the webhook sources named in
    ``sources`` (an automation tool, a help desk or an in-house system delivers them);
    ``lead.create`` carries leads for teams without HubSpot. The body is signed with
    HMAC-SHA256 under the secret in the environment variable ``secret_env``, like the
    inbound ``X-Crmbot-Signature`` (docs/webhooks.md).
    """

    url: Url
    secret_env: EnvName
    sources: list[SourceName] = Field(default_factory=list, max_length=100)
    events: list[OutboundEvent] = Field(default_factory=_all_outbound_events, min_length=1)
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _check(self) -> OutboundWebhookConfig:
        if self.timeout <= timedelta(0) or self.timeout > timedelta(minutes=2):
            raise ValueError("timeout: must be more than 0s and at most 2m")
        if "reply.create" in self.events and not self.sources:
            raise ValueError(
                "sources: name the webhook sources whose replies go to this URL "
                '(e.g. sources = ["zapier"]), or set events = ["lead.create"]'
            )
        if self.sources and "reply.create" not in self.events:
            raise ValueError('sources: replies are sent only with "reply.create" in events')
        return self


class WebhooksConfig(_Strict):
    """The generic ``POST /webhooks/{source}`` endpoint (and the body limit of every webhook).

    ``aliases`` lets one path carry events of other sources:
    ``zapier = ["typeform", "intercom"]`` accepts those at ``/webhooks/zapier``.
    ``outbound`` are the URLs crmbot sends signed events to (replies, leads).
    """

    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    outbound: dict[str, OutboundWebhookConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_outbound(self) -> WebhooksConfig:
        problems: list[str] = []
        owner: dict[str, str] = {}
        for name, endpoint in self.outbound.items():
            if not _SOURCE_NAME.match(name):
                problems.append(
                    f"outbound.{name}: a name is lower-case letters, digits, '-' or '_'"
                )
            for source in endpoint.sources:
                if source == "hubspot":
                    problems.append(
                        f"outbound.{name}.sources: hubspot mentions are not answered by webhook"
                    )
                elif source in owner:
                    problems.append(
                        f"outbound.{name}.sources: replies to {source!r} already go to "
                        f"outbound.{owner[source]} (a source's replies go to one URL)"
                    )
                else:
                    owner[source] = name
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def reply_endpoint(self, source: str) -> tuple[str, OutboundWebhookConfig] | None:
        """``(name, config)`` of the outbound webhook that takes replies to ``source``."""
        for name, endpoint in self.outbound.items():
            if source in endpoint.sources and "reply.create" in endpoint.events:
                return name, endpoint
        return None

    def event_endpoints(self, event: str) -> list[tuple[str, OutboundWebhookConfig]]:
        """``(name, config)`` of every outbound webhook subscribed to ``event``."""
        return [(n, e) for n, e in self.outbound.items() if event in e.events]


class HubspotConfig(_Strict):
    """``POST /webhooks/hubspot``: contact properties that hold social handles."""

    handle_properties: list[str] = Field(default_factory=lambda: ["twitterhandle"])


class SourcesConfig(_Strict):
    """Everything under ``[sources]``."""

    notify_after_failures: int = Field(3, ge=1, le=100)
    max_backoff: Duration = timedelta(hours=1)
    webhooks: WebhooksConfig = WebhooksConfig()
    hubspot: HubspotConfig = HubspotConfig()
    rss: dict[str, RssSource] = Field(default_factory=dict)
    mastodon: dict[str, MastodonSource] = Field(default_factory=dict)
    reddit: dict[str, RedditSource] = Field(default_factory=dict)
    bluesky: dict[str, BlueskySource] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_names(self) -> SourcesConfig:
        problems = [
            f"sources.{kind}.{name}: a source name is lower-case letters, digits, '-' or '_'"
            for kind, name in self.pollers()
            if not _SOURCE_NAME.match(name)
        ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def pollers(self) -> list[tuple[str, str]]:
        """``(kind, name)`` of every configured poller, enabled or not."""
        return [(kind, name) for kind in POLLER_KINDS for name in self._table(kind)]

    def poller(self, kind: str, name: str) -> PollerConfig | None:
        """The config of one poller, or None when it is not (or no longer) configured."""
        return self._table(kind).get(name) if kind in POLLER_KINDS else None

    def _table(self, kind: str) -> dict[str, PollerConfig]:
        return dict(getattr(self, kind))


POLLER_KINDS = ("rss", "mastodon", "reddit", "bluesky")
