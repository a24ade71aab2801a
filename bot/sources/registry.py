"""Every poller kind crmbot knows, one line each.

A poller is one module ``bot/sources/<kind>.py`` with a connector class built as
``Connector(config, env)`` (see :class:`bot.sources.base.Connector`), plus its config
model in ``handlers/config_sources.py`` and that model's table field on
``SourcesConfig`` (``<kind>: dict[str, <Kind>Source]``), which is where the kind -> model
half of this registry comes from. The scheduler (:mod:`bot.sources.polling`) needs
nothing per kind. Connector modules are imported on first use, so a platform library
loads only when a poller of its kind is configured.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from bot.sources.base import Connector
from handlers.config_sources import POLLER_MODELS, PollerConfig


@dataclass(frozen=True, slots=True)
class Poller:
    """A poller kind (the ``[sources.<kind>.<name>]`` key) and where its connector class
    is, as ``"module:Class"``."""

    kind: str
    connector: str

    @property
    def config(self) -> type[PollerConfig]:
        """The config model of one ``[sources.<kind>.<name>]`` table."""
        return POLLER_MODELS[self.kind]

    def connect(self, config: PollerConfig, env: Mapping[str, str]) -> Connector:
        """A connector for ``config``, reading its secrets from ``env``."""
        if not isinstance(config, self.config):
            raise TypeError(f"a {self.kind} poller needs {self.config.__name__}, not {config!r}")
        module, _, name = self.connector.partition(":")
        factory = getattr(importlib.import_module(module), name)
        return cast(Connector, factory(config, env))


POLLERS: dict[str, Poller] = {
    p.kind: p
    for p in [
        Poller("rss", "bot.sources.rss:RssConnector"),
        Poller("mastodon", "bot.sources.mastodon:MastodonConnector"),
        Poller("reddit", "bot.sources.reddit:RedditConnector"),
        Poller("bluesky", "bot.sources.bluesky:BlueskyConnector"),
    ]
}


def make_connector(kind: str, config: PollerConfig, env: Mapping[str, str]) -> Connector:
    """The connector for a ``[sources.<kind>.<name>]`` table."""
    poller = POLLERS.get(kind)
    if poller is None:
        raise ValueError(f"unknown source kind {kind!r}")
    return poller.connect(config, env)
