"""Hot reload of the config file: on SIGHUP, on file change, and by `/crm admin reload`.

The new file is validated whole (and its [[tests]] run) and swapped in one step; when it
is invalid the old config stays, the error is logged and sent to the admins' channel.
Escalation timers (in the job store) and the database state do not depend on the
config object, so they survive a reload.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.app import CrmBot
from bot.config_loader import ConfigError, load_config_text
from handlers.cards import NoticeCard
from handlers.config_checks import run_config_tests
from handlers.rules import compile_rules

log = logging.getLogger(__name__)


class ConfigReloader:
    """Reloads ``path`` into ``bot``."""

    def __init__(self, bot: CrmBot, path: Path) -> None:
        self.bot = bot
        self.path = path

    def reload(self, trigger: str) -> tuple[bool, str]:
        """Try to swap in the file's config; returns (applied, message for the person)."""
        try:
            text = self.path.read_text(encoding="utf-8")
            config = load_config_text(text, str(self.path))
        except FileNotFoundError:
            return self._refuse(trigger, [f"{self.path} does not exist"])
        except ConfigError as exc:
            return self._refuse(trigger, exc.problems)
        failed = [o for o in run_config_tests(compile_rules(config)) if not o.passed]
        if failed:
            return self._refuse(
                trigger,
                [
                    o.error or f"test {o.name!r}: expected {list(o.expected)}, got {list(o.got)}"
                    for o in failed
                ],
            )
        self.bot.apply_config(config)
        message = (
            f"Config reloaded from {self.path} ({trigger}): {len(config.rules)} rules, "
            f"{len(config.routes)} routes, {len(config.channels)} channels."
        )
        log.info("%s", message)
        return True, message

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
