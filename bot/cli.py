"""The `crmbot` command line."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session

from bot.app import CrmBot
from bot.chat.base import ChatSetupError
from bot.chat.console import ConsoleAdapter
from bot.config_loader import ConfigError, load_config
from bot.crm.factory import crm_from_settings
from bot.llm import drafter_from_settings
from bot.llm_sentiment import sentiment_model_from_settings
from bot.logs import setup_logging
from bot.reload import ConfigReloader
from bot.settings import Settings
from handlers.config import CrmbotConfig
from storage import migrate
from storage.db import Database, redact_url
from storage.outbox_types import OutboxStatus

app = typer.Typer(
    help="crmbot: social mentions and CRM events into your team's chat.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")

err = Console(stderr=True, highlight=False, soft_wrap=True)  # paths stay whole
NO_DATABASE = 2  # exit code: the database to read does not exist


def _setup_logging(settings: Settings, quiet: bool = False) -> None:
    setup_logging(settings.log_level, settings.log_format, settings.log_libraries, quiet)


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
    stream: Annotated[
        Path | None,
        typer.Option(help="JSON Lines stream to replay (default: the bundled demo stream)."),
    ] = None,
    speed: Annotated[float, typer.Option(help="Stream seconds per real second.")] = 3600.0,
    script: Annotated[
        Path | None, typer.Option(help="Run these /crm commands after the replay, then exit.")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Database URL, recreated each run (default: in your data folder)."),
    ] = None,
    teammates: Annotated[
        bool, typer.Option(help="Replay the simulated teammates' actions.")
    ] = True,
) -> None:
    """Run the bot on its embedded defaults: SQLite, console chat, the bundled demo stream."""
    from bot.demo import DEMO_STREAM, DemoClock, DemoRunner, bundled, run_demo
    from bot.paths import demo_database_url

    settings = Settings()
    _setup_logging(settings, quiet=True)
    if stream is not None and not stream.exists():
        err.print(f"[red]no stream file at {stream}[/red]")
        raise typer.Exit(1)
    database = database or demo_database_url()
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
    bot = CrmBot(
        database,
        config,
        [console],
        clock=clock,
        drafter=drafter_from_settings(settings),
        sentiment_model=sentiment_model_from_settings(settings),
    )
    if settings.config_path.exists():
        bot.ctx.reload_config = ConfigReloader(bot, settings.config_path).reload
    user = settings.console_user or config.console.user
    console.console.print(
        f"[dim]config: {escape(origin)}; database: {escape(_describe(database))}; "
        f"you are @{escape(user)}[/dim]"
    )
    runner = DemoRunner(bot, console, clock, user, None if script else speed, teammates)
    with bundled(DEMO_STREAM) as shipped, _quiet_interrupt():
        asyncio.run(run_demo(runner, stream or shipped, script_lines))


@contextmanager
def _quiet_interrupt() -> Iterator[None]:
    """Ctrl-C stops the command with exit code 130 and no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        err.print("stopped")
        raise typer.Exit(130) from None


@app.command()
def run(
    port: Annotated[int, typer.Option(envvar="PORT", help="HTTP port (webhooks, health).")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
) -> None:
    """Run the bot process."""
    from bot.assembly import chat_adapters, follow_publishers, reply_publishers
    from bot.runner import serve

    settings = Settings()
    _setup_logging(settings)
    config, origin = _config(settings)
    logging.getLogger(__name__).info("config from %s", origin)
    try:
        adapters = chat_adapters(settings)
    except ChatSetupError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    bot = CrmBot(
        settings.database_url,
        config,
        adapters,
        drafter=drafter_from_settings(settings),
        sentiment_model=sentiment_model_from_settings(settings),
        crm=crm_from_settings(settings),
        publishers=reply_publishers(config),
    )
    follow_publishers(bot)  # a reload that changes [sources] rebuilds them
    bot.ingestor.warm_up()
    reloader = None
    if settings.config_path.exists():
        reloader = ConfigReloader(bot, settings.config_path)
        bot.ctx.reload_config = reloader.reload
    else:
        logging.getLogger(__name__).warning(
            "no config file at %s: running on the embedded defaults (no hot reload)",
            settings.config_path,
        )
    with _quiet_interrupt():
        asyncio.run(serve(bot, settings, host, port, reloader))


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON Lines file of mention/crm events.")],
) -> None:
    """Ingest a JSON Lines file; malformed lines are reported with their number and skipped
    (and the exit code is then 1, so scripts notice)."""
    from bot.sources.importer import import_file

    settings = Settings()
    _setup_logging(settings, quiet=True)
    if not file.exists():
        err.print(f"[red]no file at {file}[/red]")
        raise typer.Exit(1)
    config, _ = _config(settings)
    err.print(f"[dim]database: {escape(_describe(settings.database_url))}[/dim]")
    bot = CrmBot(settings.database_url, config, [ConsoleAdapter()])
    report = import_file(file, bot.ingest)
    for bad in report.skipped:
        err.print(f"[yellow]skipped {bad}[/yellow]")
    typer.echo(
        f"stored {report.stored} events ({report.duplicates} duplicates ignored), "
        f"opened {report.opened} conversations, skipped {len(report.skipped)} lines"
    )
    asyncio.run(bot.dispatcher.drain())
    if report.skipped:
        err.print(f"[red]{len(report.skipped)} lines of {file} were skipped (see above)[/red]")
        raise typer.Exit(1)


@app.command("check-config")
def check_config(
    file: Annotated[Path, typer.Argument(help="Config file to check.")],
) -> None:
    """Validate a config file and run its tests tables; exit 1 on any error or failed test."""
    from bot.assembly import reply_publishers
    from handlers.config_checks import run_config_tests, undelivered_channels
    from handlers.reply_modes import replies_on, reply_warnings
    from handlers.rules import compile_rules

    if not file.exists():
        err.print(f"[red]no config file at {file}[/red]")
        raise typer.Exit(1)
    config, _ = _config(Settings(), file)
    warnings = undelivered_channels(config)
    if replies_on(config):  # publishers are built only where replies may be published
        warnings += reply_warnings(config, set(reply_publishers(config)))
    for warning in warnings:
        err.print(f"  [yellow]warning[/yellow] {warning}")
    outcomes = run_config_tests(compile_rules(config))
    failed = [o for o in outcomes if not o.passed]
    for outcome in outcomes:
        if outcome.passed:
            typer.echo(f"  ok    {outcome.name}")
        elif outcome.error:
            err.print(f"  [red]ERROR[/red] {outcome.name}: {outcome.error}")
        else:
            err.print(
                f"  [red]FAIL[/red]  {outcome.name}: expected {list(outcome.expected)}, "
                f"got {list(outcome.got)}"
            )
    summary = (
        f"{file}: {len(config.channels)} channels, {len(config.rules)} rules, "
        f"{len(config.routes)} routes, {len(config.staff)} staff; "
        f"{len(outcomes) - len(failed)}/{len(outcomes)} tests passed"
    )
    if failed:
        err.print(summary)
        raise typer.Exit(1)
    typer.echo(f"{summary}: OK")


routes_app = typer.Typer(help="Inspect routing.", no_args_is_help=True)
app.add_typer(routes_app, name="routes")


@routes_app.command("test")
def routes_test(
    labels: Annotated[list[str], typer.Argument(help="Alert labels as key=value.")],
    expect: Annotated[
        list[str] | None, typer.Option("--expect", help="Channel that must be reached.")
    ] = None,
    config_file: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Show the path an alert with these labels takes through the routes."""
    from handlers.routing import route

    pairs: dict[str, str] = {}
    for item in labels:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err.print(f"[red]{item!r} is not key=value[/red]")
            raise typer.Exit(2)
        pairs[key] = value
    config, origin = _config(Settings(), config_file)
    path = route(config, pairs)
    typer.echo(f"routes of {origin} for {pairs}:")
    for name, matched in path.steps:
        typer.echo(f"  {'->' if matched else '  '} {name}: {'match' if matched else 'no match'}")
    channels = list(path.channels)
    typer.echo(
        f"channels: {', '.join(channels) if channels else '(none: the alert is not posted)'}"
    )
    missing = [c for c in expect or [] if c not in channels]
    if missing:
        err.print(f"[red]expected {missing} but the alert reaches {channels}[/red]")
        raise typer.Exit(1)


@app.command()
def replay(
    since: Annotated[str, typer.Option(help="How far back, e.g. 7d, 24h.")] = "7d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--no-dry-run", help="Only report (the only mode).")
    ] = True,
    config_file: Annotated[Path | None, typer.Option("--config", help="Config file.")] = None,
) -> None:
    """Which rules would have fired over the stored mentions, with the current config."""
    from datetime import UTC, datetime

    from handlers.durations import parse_duration
    from handlers.replay import replay as run_replay
    from handlers.rules import compile_rules
    from storage.mentions import mentions_since

    if not dry_run:
        err.print("[red]replay only reports (--dry-run); it never re-posts old mentions[/red]")
        raise typer.Exit(2)
    try:
        window = parse_duration(since)
    except ValueError as exc:
        err.print(f"[red]--since: {exc}[/red]")
        raise typer.Exit(2) from None
    settings = Settings()
    config, origin = _config(settings, config_file)
    db = Database(_existing_database(settings))
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        report = run_replay(compile_rules(config), mentions_since(conn, datetime.now(UTC) - window))
    out = Console(highlight=False)
    out.print(
        f"{report.mentions} mentions in the last {since}; {report.matched} match a rule "
        f"(config: {origin})"
    )
    from rich.table import Table as RichTable

    rules_table = RichTable("rule", "would fire", "example", title="Rules")
    for rule in config.rules:
        count = report.by_rule.get(rule.name, 0)
        example = " ".join(report.examples.get(rule.name, "").split())
        rules_table.add_row(rule.name, str(count), example[:70])
    out.print(rules_table)
    channels_table = RichTable("channel", "alerts", title="Channels")
    for channel, count in report.by_channel.most_common():
        channels_table.add_row(channel, str(count))
    out.print(channels_table)


@app.command()
def forget(
    handle: Annotated[str, typer.Argument(help="The author's handle, e.g. @jroe.")],
    platform: Annotated[
        str | None, typer.Option(help="Only this platform's author (default: every platform).")
    ] = None,
) -> None:
    """Erase an author's personal data everywhere, keeping anonymous counts; audited."""
    import getpass

    from handlers.clock import SystemClock
    from handlers.errors import UserError
    from handlers.privacy import forget as forget_author

    settings = Settings()
    _setup_logging(settings, quiet=True)
    db = Database(settings.database_url)
    migrate.upgrade(db)
    try:
        result = forget_author(db, SystemClock(), handle, platform, f"cli:{getpass.getuser()}")
    except UserError as exc:
        err.print(f"[red]{exc.reason}[/red]")
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    typer.echo(result.summary())
    if not result.erasure.found:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also applied automatically at start)."""
    settings = Settings()
    db = Database(settings.database_url)
    migrate.upgrade(db)
    typer.echo(
        f"database at {_describe(settings.database_url)} is at {migrate.current_revision(db)}"
    )


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    settings = Settings()
    db = Database(_existing_database(settings))
    typer.echo(migrate.current_revision(db) or "not migrated")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups() -> None:
    """Recompute the metric rollups from cycles and handling events."""
    from storage import rollups

    settings = Settings()
    db = Database(_existing_database(settings))
    migrate.upgrade(db)
    with db.engine.begin() as conn:
        rows = rollups.rebuild(conn)
    typer.echo(f"rebuilt {rows} rollup rows")


@app.command()
def report(
    period: Annotated[str, typer.Argument(help="Period, e.g. 7d or 30d.")] = "7d",
    png: Annotated[Path | None, typer.Option(help="Also save the charts to this PNG.")] = None,
) -> None:
    """Metrics for managers in the terminal (and charts as a PNG)."""
    from bot.reports import terminal_report

    settings = Settings()
    _setup_logging(settings, quiet=True)
    config, _origin = _config(settings)
    terminal_report(_existing_database(settings), config, period, png)


@app.command()
def export(
    period: Annotated[str, typer.Argument(help="Period, e.g. 7d or 30d.")] = "30d",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File or folder to write the CSV to (default: your exports folder)."
        ),
    ] = None,
) -> None:
    """CSV of every conversation cycle in the period (who handled it, the times, SLA)."""
    from bot.chat.console import save_attachment
    from handlers.errors import UserError
    from handlers.reports import export_reply

    settings = Settings()
    _setup_logging(settings, quiet=True)
    config, _origin = _config(settings)
    bot = CrmBot(_existing_database(settings), config, [ConsoleAdapter()])
    try:
        reply = export_reply(bot.ctx, period)
    except UserError as exc:
        err.print(f"[red]{exc.reason}[/red]")
        raise typer.Exit(2) from None
    finally:
        bot.db.dispose()
    (csv,) = reply.attachments
    if out is not None and not out.is_dir() and out.suffix:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(csv.data)
        path = out.resolve()
    else:
        path = save_attachment(csv, out)
    typer.echo(f"{reply.text} Written to {path}")


outbox_app = typer.Typer(
    help="Messages that did not go out: list, retry or drop them.", no_args_is_help=True
)
app.add_typer(outbox_app, name="outbox")
OUTBOX_STATUSES = {
    "dead": (OutboxStatus.DEAD,),
    "pending": (OutboxStatus.PENDING,),
    "all": (OutboxStatus.DEAD, OutboxStatus.PENDING, OutboxStatus.DROPPED),
}
OutboxIds = Annotated[list[int] | None, typer.Argument(help="Outbox row ids.", show_default=False)]
AllDead = Annotated[bool, typer.Option("--all-dead", help="Every dead-lettered row.")]


@contextmanager
def _outbox_session() -> Iterator[Session]:
    db = Database(_existing_database(Settings()))
    migrate.upgrade(db)
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str,
        typer.Option(
            help="dead, pending (failed at least once) or all (also dropped); "
            "default: dead and failing pending rows."
        ),
    ] = "",
    limit: Annotated[int, typer.Option(help="At most this many rows, newest first.")] = 50,
) -> None:
    """The rows that did not go out, with their last error."""
    from datetime import UTC, datetime

    from rich.table import Table as RichTable

    from handlers.durations import format_duration
    from storage import outbox as outbox_store

    if status and status not in OUTBOX_STATUSES:
        err.print(f"[red]--status must be one of {', '.join(OUTBOX_STATUSES)}[/red]")
        raise typer.Exit(2)
    statuses = OUTBOX_STATUSES[status] if status else (OutboxStatus.DEAD, OutboxStatus.PENDING)
    with _outbox_session() as session:
        rows = outbox_store.troubled(session, statuses, limit)
    if not rows:
        typer.echo("nothing waiting: no dead-lettered or failing messages")
        return
    now = datetime.now(UTC)
    table = RichTable(
        "id", "status", "kind", "channel", "to", "attempts", "last error", "age", highlight=False
    )
    for row in rows:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        table.add_row(
            str(row.id),
            row.status,
            row.kind,
            escape(row.channel),
            escape(f"{row.platform}:{row.destination}"),
            str(row.attempts),
            escape(row.last_error or ""),
            format_duration((now - created).total_seconds()),
        )
    Console(highlight=False).print(table)
    typer.echo("act on them: crmbot outbox retry ID... | crmbot outbox drop ID...")


def _chosen_ids(session: Session, ids: list[int] | None, all_dead: bool) -> list[int]:
    """The ids named (exit 1 naming the unknown ones) or every dead row."""
    from storage import outbox as outbox_store

    if bool(ids) == all_dead:
        err.print("[red]name outbox ids or --all-dead (one of them)[/red]")
        raise typer.Exit(2)
    if all_dead:
        return outbox_store.dead_ids(session)
    assert ids is not None
    known = outbox_store.statuses_of(session, ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        err.print(f"[red]no outbox row {', '.join(map(str, unknown))}[/red]; nothing changed")
        raise typer.Exit(1)
    return sorted(set(ids))


def _report(verb: str, done: list[int], asked: list[int]) -> None:
    skipped = [i for i in asked if i not in done]
    typer.echo(f"{verb} {len(done)} rows" + (f": {', '.join(map(str, done))}" if done else ""))
    if skipped:
        typer.echo(
            f"left alone (already sent, or not in a state to change): "
            f"{', '.join(map(str, skipped))}"
        )


@outbox_app.command("retry")
def outbox_retry(ids: OutboxIds = None, all_dead: AllDead = False) -> None:
    """Put rows back in line, due now (attempts kept); the running bot posts them."""
    from datetime import UTC, datetime

    from storage import outbox as outbox_store

    with _outbox_session() as session:
        asked = _chosen_ids(session, ids, all_dead)
        done = outbox_store.requeue(session, asked, datetime.now(UTC))
    _report("requeued", done, asked)
    if done:
        typer.echo("the running bot posts them within its poll interval")


@outbox_app.command("drop")
def outbox_drop(
    ids: OutboxIds = None,
    all_dead: AllDead = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Mark rows 'dropped': kept for the record, never posted."""
    from storage import outbox as outbox_store

    with _outbox_session() as session:
        asked = _chosen_ids(session, ids, all_dead)
        if not asked:
            typer.echo("dropped 0 rows")
            return
        if not yes and not typer.confirm(f"drop {len(asked)} rows (they will never be posted)?"):
            err.print("nothing dropped")
            raise typer.Exit(1)
        done = outbox_store.drop(session, asked)
    _report("dropped", done, asked)


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        err.print(f"[red]DATABASE_URL is not a database URL: {escape(url[:40])}…[/red]")
        raise typer.Exit(NO_DATABASE) from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def _describe(url: str) -> str:
    """The database URL for people: password hidden, an SQLite file as an absolute path."""
    file = _sqlite_file(url)
    return f"sqlite:///{file.resolve()}" if file is not None else redact_url(url)


def _existing_database(settings: Settings) -> str:
    """``DATABASE_URL``, named on stderr; exit 2 when it is an SQLite file that does not
    exist (reading it would create an empty database and report nothing)."""
    url = settings.database_url
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        origin = "DATABASE_URL" if "DATABASE_URL" in os.environ else "the default DATABASE_URL"
        err.print(
            f"[red]no database at {escape(str(file.resolve()))}[/red] "
            f"({origin} is {escape(redact_url(url))}).\n"
            "Set DATABASE_URL to your bot's database, or run this from the directory "
            "your bot runs in."
        )
        raise typer.Exit(NO_DATABASE)
    err.print(f"[dim]database: {escape(_describe(url))}[/dim]")
    return url


def main() -> None:
    """Console script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
