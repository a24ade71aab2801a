"""The commands a new user types, run as real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
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


def test_demo_runs_the_bundled_stream(tmp_path: Path) -> None:
    stream = ROOT / "examples" / "demo_stream.jsonl"
    script = tmp_path / "script.txt"
    script.write_text("/crm queue\n/crm metrics 7d\n")
    out = crmbot("demo", "--script", str(script), "--database", f"sqlite:///{tmp_path / 'd.db'}")
    assert out.returncode == 0, out.stderr
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
    assert out.returncode == 0, out.stderr
    assert "line 2: id: Field required" in out.stderr
    assert "line 3: expected a JSON object" in out.stderr
    assert (
        "stored 3 events (0 duplicates ignored), opened 2 conversations, skipped 2 lines"
        in out.stdout
    )
    again = crmbot("import", str(file), env=env)
    assert "stored 0 events (3 duplicates ignored)" in again.stdout


def test_check_config_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[channels.a]\n[[rules]]\nname = "r"\nchannel = "a"\n')
    out = crmbot("check-config", str(good))
    assert out.returncode == 0 and "OK (1 channels, 1 rules, 0 staff)" in out.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[channels.a]\n[[rules]]\nname = "r"\nchannel = "b"\n')
    out = crmbot("check-config", str(bad))
    assert out.returncode == 1
    assert "rules[0].channel: unknown channel 'b' (line 4)" in out.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    out = crmbot("db", "upgrade", env=env)
    assert out.returncode == 0, out.stderr
    assert "is at 0001" in out.stdout
    assert crmbot("db", "current", env=env).stdout.strip() == "0001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
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
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"crmbot run did not come up: {proc.stderr.read() if proc.stderr else ''}"
                    )
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json() == {"ok": True, "outbox_pending": 0}
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
