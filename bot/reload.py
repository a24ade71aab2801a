"""Hot reload of the config file: on SIGHUP, on file change, and by `/crm admin reload`.

The new file is validated whole (and its [[tests]] run) and swapped in one step; when it
is invalid the old config stays, the error is logged and sent to the admins' channel.
Escalation timers (in the job store) and the database state do not depend on the
config object, so they survive a reload.

Replicas: an accepted config is stored in the database (text and SHA-256); every replica
polls the newest version every few seconds and applies it, so a reload on one reaches all.
A replica that starts with a file unlike the newest stored config publishes its own (the
last one started or reloaded wins: give every replica the same file).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path

from bot.app import CrmBot
from bot.config_loader import ConfigError, load_config_text
from handlers.cards import NoticeCard
from handlers.config import CrmbotConfig
from handlers.config_checks import run_config_tests
from handlers.rules import compile_rules
from storage import config_versions

FOLLOW_INTERVAL = 5.0  # seconds between checks for a config another replica accepted


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


log = logging.getLogger(__name__)


class ConfigReloader:
    """Reloads ``path`` into ``bot``."""

    def __init__(self, bot: CrmBot, path: Path) -> None:
        self.bot = bot
        self.path = path
        self._digest: str | None = None  # the config in force, when known
        self._seen = 0  # newest stored version looked at

    def reload(self, trigger: str) -> tuple[bool, str]:
        """Try to swap in the file's config; returns (applied, message for the person)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return self._refuse(trigger, [f"{self.path} does not exist"])
        config, problems = self._check(text, str(self.path))
        if config is None:
            return self._refuse(trigger, problems)
        self.bot.apply_config(config)
        self._digest = _digest(text)
        self._share(text)
        message = (
            f"Config reloaded from {self.path} ({trigger}): {len(config.rules)} rules, "
            f"{len(config.routes)} routes, {len(config.channels)} channels."
        )
        log.info("%s", message)
        return True, message

    @staticmethod
    def _check(text: str, origin: str) -> tuple[CrmbotConfig | None, list[str]]:
        """The config in ``text`` if it is valid and its [[tests]] pass, else the problems."""
        try:
            config = load_config_text(text, origin)
        except ConfigError as exc:
            return None, exc.problems
        failed = [o for o in run_config_tests(compile_rules(config)) if not o.passed]
        if failed:
            return None, [
                o.error or f"test {o.name!r}: expected {list(o.expected)}, got {list(o.got)}"
                for o in failed
            ]
        return config, []

    def _share(self, text: str) -> None:
        """Store an accepted config for the other replicas (unless it is the newest)."""
        digest = _digest(text)
        with self.bot.db.session() as session:
            newest = config_versions.latest(session)
            if newest is not None and newest[1] == digest:
                self._seen = max(self._seen, newest[0])
                return
            version = config_versions.publish(
                session, text, digest, self.bot.dispatcher.holder, self.bot.clock.now()
            )
        self._seen = max(self._seen, version)

    def share_at_start(self) -> None:
        """Publish the file this replica started with (the config already in force)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            log.exception("could not read %s to share it with the other replicas", self.path)
            return
        self._digest = _digest(text)
        self._share(text)

    def follow_once(self) -> bool:
        """Apply the newest stored config if another replica accepted one; True if it did."""
        with self.bot.db.session() as session:
            newest = config_versions.latest(session)
            if newest is None or newest[0] <= self._seen:
                return False
            self._seen = newest[0]
            if newest[1] == self._digest:
                return False
            text = config_versions.text_of(session, newest[0])
        if text is None:
            return False
        config, problems = self._check(text, f"config version {newest[0]}")
        if config is None:
            log.error(
                "config version %s from another replica is not valid here; keeping the "
                "current one: %s",
                newest[0],
                "; ".join(problems),
            )
            return False
        self.bot.apply_config(config)
        self._digest = newest[1]
        log.info("applied config version %s accepted by another replica", newest[0])
        return True

    async def follow(self, stop: asyncio.Event, interval: float = FOLLOW_INTERVAL) -> None:
        """Apply configs other replicas accept, until ``stop`` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.follow_once)
            except Exception:
                log.exception("checking for a config from another replica failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def _refuse(self, trigger: str, problems: list[str]) -> tuple[bool, str]:
        message = (
            f"Config reload from {self.path} ({trigger}) refused; the previous config stays "
            "in force:\n" + "\n".join(f"• {p}" for p in problems)
        )
        log.error("%s", message)
        admin_channel = self.bot.config.alerts.admin_channel
        if admin_channel:
            with self.bot.db.session() as session:
                self.bot.ctx.queue(
                    session, NoticeCard(conversation_id=None, text=message), [admin_channel]
                )
            self.bot.dispatcher.wake()
        return False, message

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever the file changes, until ``stop`` is set."""
        from watchfiles import awatch

        async for _changes in awatch(self.path, stop_event=stop, debounce=500):
            self.reload("file change")
