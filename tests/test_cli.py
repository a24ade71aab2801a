"""The commands a new user types, run as real processes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from storage import migrate

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = Path(sys.executable).parent / "crmbot"  # the console script `make` installs
FIXTURES = Path(__file__).parent / "fixtures"


def crmbot(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 120):
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_script_runs_the_whole_loop(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text(
        "# a session at the keyboard\n/crm queue\n/crm claim 3\n/crm reply 3 Thanks for the kind words!\n"
        "/crm resolve 3\n/crm claim 1\n/crm claim 99\n/crm dance\n/crm metrics 7d\n"
    )
    db = tmp_path / "demo.db"
    out = crmbot(
        "demo",
        "--stream",
        str(FIXTURES / "small_stream.jsonl"),
        "--script",
        str(script),
        "--database",
        f"sqlite:///{db}",
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "skipped line 4: not valid JSON" in text
    assert "#1 · twitter · HIGH → #support" in text
    assert "@jroe (Jane Roe) · 1.2k followers · influence 51 (medium)" in text
    assert "contact: Jane Roe (Roe Studio) · deal: Renewal (negotiation, $12,000)" in text
    assert (
        "Replayed 4 events (1 duplicates ignored), 2 teammate actions, 1 bad lines skipped." in text
    )
    assert "3 open conversations, 2 unclaimed." in text
    assert "You claimed #3." in text
    assert "#1 is already claimed by @ana." in text
    assert "There is no conversation #99." in text
    assert "I don't know `/crm dance`." in text
    assert "Metrics for the last 7d: 3 conversations (3 cycles), 1 resolved, 2 still open." in text
    assert "@ana" in text and "@lead" in text


def test_installed_demo_runs_the_bundled_stream_from_any_directory(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("/crm queue\n/CRM Metrics 7d\n/crm kb refund\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data_home = tmp_path / "data"
    out = subprocess.run(
        [str(INSTALLED), "demo", "--script", str(script)],
        cwd=elsewhere,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "XDG_DATA_HOME": str(data_home)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    demo_db = data_home / "crmbot" / "demo" / "crmbot-demo.db"
    assert demo_db.exists() and f"database: sqlite:///{demo_db}" in out.stdout
    assert list(elsewhere.iterdir()) == []  # nothing left in the working directory
    assert "approved replies for 'refund'" in out.stdout


def test_demo_routes_like_a_support_lead_and_shows_sla(tmp_path: Path) -> None:
    stream = ROOT / "bot" / "data" / "demo_stream.jsonl"
    script = tmp_path / "script.txt"
    script.write_text("/crm queue\n/crm metrics 7d\n/crm metrics 30d bh\n")
    database = f"sqlite:///{tmp_path / 'd.db'}"
    out = crmbot("demo", "--script", str(script), "--database", database, timeout=300)
    assert out.returncode == 0, out.stderr
    # one alert per conversation, each saying why it went where it did
    panels = re.findall(r"╭─ #(\d+) · \S+ · \S+ → #(\S+) ─.*?╰", out.stdout, re.S)
    alerted = [conv for conv, _channel in panels]
    assert len(alerted) > 50 and len(set(alerted)) == len(alerted)
    cards = re.findall(r"╭─.*?╰", out.stdout, re.S)
    (billing,) = [card for card in cards if "still billed me" in card]
    assert "→ #support" in billing and "why here: rule `billing complaint`" in billing
    (ticket,) = [card for card in cards if "Login loop on iPad" in card]
    assert "→ #support" in ticket and "why here: rule `crm ticket`" in ticket
    # the demo config's SLA and business hours show in the metrics
    assert "SLA" in out.stdout
    bh = out.stdout.split("Business hours (Europe/London, every day 08:00-20:00)")[1]
    first_response = next(line for line in bh.splitlines() if "first response" in line)
    assert "│ 0s " not in first_response
    lines = [line for line in stream.read_text().splitlines() if line.strip()]
    assert (
        len([line for line in lines if '"type": "mention"' in line or '"type":"mention"' in line])
        >= 200
    )
    assert "skipped" not in out.stdout
    assert "open conversations" in out.stdout
    assert "Metrics for the last 7d:" in out.stdout


def test_import_reports_bad_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    good = (FIXTURES / "small_stream.jsonl").read_text().splitlines()
    file.write_text(
        "\n".join([good[0], '{"type": "mention", "source": "x"}', "[1, 2]", good[2], good[4]])
        + "\n"
    )
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}",
        "CRMBOT_CONFIG": str(tmp_path / "none.toml"),
    }
    out = crmbot("import", str(file), env=env)
    assert out.returncode == 1, out.stderr  # scripts notice the skipped lines
    assert "2 lines of" in out.stderr and "were skipped" in out.stderr
    assert "line 2: id: Field required" in out.stderr
    assert "line 3: expected a JSON object" in out.stderr
    assert (
        "stored 3 events (0 duplicates ignored), opened 2 conversations, skipped 2 lines"
        in out.stdout
    )
    again = crmbot("import", str(file), env=env)
    assert "stored 0 events (3 duplicates ignored)" in again.stdout
    clean = tmp_path / "clean.jsonl"
    clean.write_text(good[0] + "\n")
    assert crmbot("import", str(clean), env=env).returncode == 0


CHECKED = """
[alerts]
default_channel = "social"

[channels.social]
[channels.support]

[[rules]]
name = "outage"
query = 'down AND NOT "down payment"'
labels = { team = "support" }

[[routes]]
match = { team = "support" }
channel = "support"

[[tests]]
name = "outage to support"
event = { type = "mention", text = "site is down" }
expect = ["support"]
"""


def test_check_config_runs_the_files_tests(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(CHECKED)
    out = crmbot("check-config", str(good))
    assert out.returncode == 0, out.stderr
    assert "ok    outage to support" in out.stdout
    assert "2 channels, 1 rules, 1 routes, 0 staff; 1/1 tests passed: OK" in out.stdout

    failing = tmp_path / "failing.toml"
    failing.write_text(CHECKED.replace('expect = ["support"]', 'expect = ["social"]'))
    out = crmbot("check-config", str(failing))
    assert out.returncode == 1
    assert "FAIL  outage to support: expected ['social'], got ['support']" in out.stderr

    bad = tmp_path / "bad.toml"
    bad.write_text(
        CHECKED.replace('channel = "support"', 'channel = "suport"').replace(
            'name = "outage"', 'name = "outage"\nseverity = "urgent"'
        )
    )
    out = crmbot("check-config", str(bad))
    assert out.returncode == 1
    assert "rules[0].severity: Input should be 'low', 'normal', 'high' or 'critical'" in out.stderr
    assert (  # a per-key error does not hide a cross-key one
        "routes[0].channel: unknown channel 'suport' (did you mean 'support'?) (line 16)"
        in out.stderr
    )


def test_check_config_names_unresolvable_mentions_and_undelivered_channels(
    tmp_path: Path,
) -> None:
    text = (
        CHECKED.replace("[channels.social]", '[channels.social]\nslack = "C0SOCIAL"').replace(
            'channel = "support"\n',
            'channel = "support"\n'
            'escalate = { after = "15m", to = "social", mention = ["@oncal"] }\n',
            1,
        )
        + '\n[groups.oncall]\nslack = "S0ONCALL"\n'
    )
    config = tmp_path / "c.toml"
    config.write_text(text)
    out = crmbot("check-config", str(config))
    assert out.returncode == 1
    assert (
        "routes[0].escalate.mention[0]: unknown person or group 'oncal' "
        "(did you mean 'oncall'?)" in out.stderr
    )
    config.write_text(text.replace('"@oncal"', '"@oncall"'))
    out = crmbot("check-config", str(config))
    assert out.returncode == 0, out.stderr
    assert "warning channels.support: no slack id; its messages go to nowhere" in out.stderr


def test_routes_test_shows_the_path(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(CHECKED)
    out = crmbot("routes", "test", "team=support", "--expect", "support", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert "-> routes[0]: match" in out.stdout and "channels: support" in out.stdout
    out = crmbot("routes", "test", "team=sales", "--expect", "support", "--config", str(config))
    assert out.returncode == 1
    assert "routes[0]: no match" in out.stdout and "-> default route: match" in out.stdout
    assert "expected ['support'] but the alert reaches ['social']" in out.stderr


def test_replay_dry_run_counts_rules_over_stored_mentions(tmp_path: Path) -> None:
    db_env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "CRMBOT_CONFIG": str(tmp_path / "x"),
    }
    imported = crmbot("import", str(FIXTURES / "small_stream.jsonl"), env=db_env)
    assert imported.returncode == 1  # the fixture has one bad line on purpose
    config = tmp_path / "c.toml"
    config.write_text(
        CHECKED.replace(
            "query = 'down AND NOT \"down payment\"'", "keywords = ['broken', 'crashing']"
        )
    )
    out = crmbot("replay", "--since", "3650d", "--config", str(config), env=db_env)
    assert out.returncode == 0, out.stderr
    assert "3 mentions in the last 3650d; 2 match a rule" in out.stdout
    assert "│ outage │ 2 " in out.stdout
    assert f"database: sqlite:///{tmp_path / 'r.db'}" in out.stderr


@pytest.mark.parametrize(
    "command",
    [("replay", "--since", "7d"), ("report", "7d"), ("export", "7d"), ("db", "current")],
)
def test_readers_refuse_to_invent_an_empty_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    out = crmbot(*command, cwd=tmp_path, env={"CRMBOT_CONFIG": str(tmp_path / "none.toml")})
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"no database at {tmp_path / 'crmbot.db'}" in out.stderr
    assert "Set DATABASE_URL" in out.stderr and "directory" in out.stderr
    assert list(tmp_path.iterdir()) == []  # no empty crmbot.db left behind


def test_export_writes_where_asked_or_to_the_data_folder(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}",
        "CRMBOT_CONFIG": str(tmp_path / "none.toml"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    recent = tmp_path / "recent.jsonl"  # the fixture's events, moved into the last week
    recent.write_text(
        (FIXTURES / "small_stream.jsonl").read_text().replace("2026-11-20", yesterday)
    )
    crmbot("import", str(recent), env=env)
    target = tmp_path / "out" / "cycles.csv"
    out = crmbot("export", "7d", "--out", str(target), env=env)
    assert out.returncode == 0, out.stderr
    assert f"Written to {target}" in out.stdout
    header, *rows = target.read_text().splitlines()
    assert "conversation" in header and len(rows) == 3
    out = crmbot("export", "7d", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    (written,) = (tmp_path / "data" / "crmbot" / "exports").iterdir()
    assert written.name.endswith("-7d.csv") and f"Written to {written}" in out.stdout
    assert not (tmp_path / "crmbot-files").exists()


def test_db_upgrade(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    out = crmbot("db", "upgrade", env=env)
    assert out.returncode == 0, out.stderr
    head = migrate.head_revision()
    assert f"database at sqlite:///{tmp_path / 'u.db'} is at {head}" in out.stdout
    current = crmbot("db", "current", env=env)
    assert current.stdout.strip() == head
    assert f"database: sqlite:///{tmp_path / 'u.db'}" in current.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """``crmbot run`` in its own process group (as a terminal runs it), once it is healthy."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "CRMBOT_CONFIG": str(tmp_path / "none.toml"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"crmbot run did not come up: {proc.communicate()[1]}")
            time.sleep(0.1)  # polling a starting process, not asserting on time
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "database": "ok",
        "chat": {"console": "ok"},
        "outbox_pending": 0,
    }
    return proc, port


def test_run_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
    proc, _ = _start_run(tmp_path)
    proc.terminate()
    assert proc.wait(timeout=30) == 0


def test_ctrl_c_on_run_stops_quietly(tmp_path: Path) -> None:
    proc, _ = _start_run(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_ctrl_c_on_the_demo_stops_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--speed", "1"],  # slow: still replaying
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,  # the keyboard: nothing typed
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    while "alerts appear below" not in proc.stdout.readline():
        assert proc.poll() is None, proc.communicate()[1]
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().endswith("stopped")


def test_the_example_config_is_valid_and_its_tests_pass() -> None:
    out = crmbot("check-config", str(ROOT / "examples" / "crmbot.toml"))
    assert out.returncode == 0, out.stderr
    assert "tests passed: OK" in out.stdout
