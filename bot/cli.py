"""The `crmbot` command line."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.app import CrmBot
from bot.chat.console import ConsoleAdapter
from bot.config_loader import ConfigError, load_config
from bot.settings import Settings
from handlers.config import CrmbotConfig
from storage import migrate
from storage.db import Database, redact_url

app = typer.Typer(
    help="crmbot: social mentions and CRM events into your team's chat.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")

err = Console(stderr=True, highlight=False)
DEFAULT_STREAM = Path("examples/demo_stream.jsonl")
DEFAULT_DEMO_DB = "sqlite:///.demo/crmbot-demo.db"


def _setup_logging(settings: Settings, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config(settings: Settings, path: Path | None = None) -> tuple[CrmbotConfig, str]:
    try:
        return load_config(path or settings.config_path)
    except ConfigError as exc:
        err.print(f"[red]config error in {exc.source}:[/red]")
        for problem in exc.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None


@app.command()
def demo(
    stream: Annotated[Path, typer.Option(help="JSON Lines stream to replay.")] = DEFAULT_STREAM,
    speed: Annotated[float, typer.Option(help="Stream seconds per real second.")] = 3600.0,
    script: Annotated[
        Path | None, typer.Option(help="Run these /crm commands after the replay, then exit.")
    ] = None,
    database: Annotated[
        str, typer.Option(help="Database URL (recreated each run).")
    ] = DEFAULT_DEMO_DB,
    teammates: Annotated[
        bool, typer.Option(help="Replay the simulated teammates' actions.")
    ] = True,
) -> None:
    """Run the bot on its embedded defaults: SQLite, console chat, the bundled demo stream."""
    from bot.demo import DemoClock, DemoRunner, run_demo

    settings = Settings()
    _setup_logging(settings, quiet=True)
    if not stream.exists():
        err.print(f"[red]no stream file at {stream}[/red]")
        raise typer.Exit(1)
    script_lines = None
    if script is not None:
        if not script.exists():
            err.print(f"[red]no script file at {script}[/red]")
            raise typer.Exit(1)
        script_lines = script.read_text(encoding="utf-8").splitlines()
    config, origin = _config(settings)
    if database.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(database.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    clock = DemoClock()
    console = ConsoleAdapter(Console(highlight=False))
    bot = CrmBot(database, config, [console], clock=clock)
    user = settings.console_user or config.console.user
    console.console.print(
        f"[dim]config: {origin}; database: {redact_url(database)}; you are @{user}[/dim]"
    )
    runner = DemoRunner(bot, console, clock, user, None if script else speed, teammates)
    asyncio.run(run_demo(runner, stream, script_lines))


@app.command()
def run(
    port: Annotated[int, typer.Option(envvar="PORT", help="HTTP port (webhooks, health).")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
) -> None:
    """Run the bot process."""
    from bot.assembly import chat_adapters
    from bot.runner import serve

    settings = Settings()
    _setup_logging(settings)
    config, origin = _config(settings)
    logging.getLogger(__name__).info("config from %s", origin)
    bot = CrmBot(settings.database_url, config, chat_adapters(settings))
    bot.ingestor.warm_up()
    asyncio.run(serve(bot, settings, host, port))


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines file of mention/crm events.")],
) -> None:
    """Ingest a JSON Lines file; malformed lines are reported with their number and skipped."""
    from bot.sources.importer import import_file

    settings = Settings()
    _setup_logging(settings, quiet=True)
    if not file.exists():
        err.print(f"[red]no file at {file}[/red]")
        raise typer.Exit(1)
    config, _ = _config(settings)
    bot = CrmBot(settings.database_url, config, [ConsoleAdapter()])
    report = import_file(file, bot.ingest)
    for bad in report.skipped:
        err.print(f"[yellow]skipped {bad}[/yellow]")
    typer.echo(
        f"stored {report.stored} events ({report.duplicates} duplicates ignored), "
        f"opened {report.opened} conversations, skipped {len(report.skipped)} lines"
    )
    asyncio.run(bot.dispatcher.drain())


@app.command("check-config")
def check_config(
    file: Annotated[Path, typer.Argument(help="Config file to check.")],
) -> None:
    """Validate a config file; exit 1 and name each bad key when it is invalid."""
    if not file.exists():
        err.print(f"[red]no config file at {file}[/red]")
        raise typer.Exit(1)
    config, _ = _config(Settings(), file)
    typer.echo(
        f"{file}: OK ({len(config.channels)} channels, {len(config.rules)} rules, "
        f"{len(config.staff)} staff)"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also applied automatically at start)."""
    settings = Settings()
    db = Database(settings.database_url)
    migrate.upgrade(db)
    typer.echo(
        f"database at {redact_url(settings.database_url)} is at {migrate.current_revision(db)}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    settings = Settings()
    typer.echo(migrate.current_revision(Database(settings.database_url)) or "not migrated")


def main() -> None:
    """Console script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
