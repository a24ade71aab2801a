"""Secrets for the publishers, from the environment. A missing one is a permanent
:class:`~handlers.publish_port.PublishError` naming the variable to set, never a value."""

from __future__ import annotations

from collections.abc import Mapping

from handlers.publish_port import PublishError


def env_secret(env: Mapping[str, str], name: str, what: str) -> str:
    """The value of environment variable ``name``; a permanent PublishError naming it
    (never a value) when it is unset. ``what`` says what the secret is for."""
    value = env.get(name, "").strip()
    if not value:
        raise PublishError(f"environment variable {name} is not set ({what})", permanent=True)
    return value
