"""The poller registry: every ``[sources.<kind>]`` table has a connector, built from its
config and the environment (bot/sources/registry.py)."""

from __future__ import annotations

import pytest

from bot.config_loader import load_config_text
from bot.sources.registry import POLLERS, make_connector
from handlers.config_sources import POLLER_KINDS, RssSource
from tests.test_sources_units import SOURCES_TOML

ENV = {
    "MASTODON_TOKEN": "t",
    "REDDIT_CLIENT_ID": "id",
    "REDDIT_CLIENT_SECRET": "secret",
    "BLUESKY_HANDLE": "acme.bsky.social",
    "BLUESKY_APP_PASSWORD": "pw",
}


def test_every_configurable_poller_kind_is_registered() -> None:
    assert list(POLLERS) == list(POLLER_KINDS)


async def test_each_configured_poller_gets_its_kinds_connector() -> None:
    sources = load_config_text(SOURCES_TOML, "test").sources
    assert {kind for kind, _ in sources.pollers()} == set(POLLERS)
    for kind, name in sources.pollers():
        config = sources.poller(kind, name)
        assert config is not None
        connector = make_connector(kind, config, ENV)
        assert type(connector).__name__ == POLLERS[kind].connector.rpartition(":")[2]
        assert isinstance(config, POLLERS[kind].config)
        await connector.close()


def test_a_wrong_config_or_unknown_kind_is_refused() -> None:
    feed = RssSource(url="https://example.com/feed")
    with pytest.raises(TypeError, match="MastodonSource"):
        make_connector("mastodon", feed, ENV)
    with pytest.raises(ValueError, match="unknown source kind 'myspace'"):
        make_connector("myspace", feed, ENV)
