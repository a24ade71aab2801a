"""`crmbot run` as a real process on loopback, fed signed webhooks (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx

from bot.sources.signatures import crmbot_signature

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "process-webhook-secret"
BOT_TOKEN = "xoxb-process-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lanes_config(channels: int, per_minute: int = 120) -> str:
    """``channels`` Slack channels, each with a rule (keyword ``laneN``) and a route."""
    lines = ['[alerts]\ndefault_channel = "c0"\n']
    for i in range(channels):
        lines.append(
            f'[channels.c{i}]\nslack = "C0LANE{i:03d}"\nmax_posts_per_minute = {per_minute}\n'
        )
    for i in range(channels):
        lines.append(
            f'[[rules]]\nname = "r{i}"\nkeywords = ["lane{i}"]\nlabels = {{ lane = "{i}" }}\n'
        )
    for i in range(channels):
        lines.append(f'[[routes]]\nmatch = {{ lane = "{i}" }}\nchannel = "c{i}"\n')
    return "".join(lines)


def run_env(database_url: str, config: Path, slack_api_url: str) -> dict[str, str]:
    """The environment of a `crmbot run` posting to a fake Slack (HTTP mode)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRMBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "process-signing-secret",
        "SLACK_API_URL": slack_api_url,
        "CRMBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CRMBOT_LOG_LEVEL": "WARNING",
    }


async def start(
    env: dict[str, str], port: int, log: Path | None = None
) -> asyncio.subprocess.Process:
    """Start `crmbot run` on 127.0.0.1:``port`` and wait until /healthz answers."""
    out = log.open("ab") if log is not None else asyncio.subprocess.DEVNULL
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=out,
    )
    await wait_healthy(f"http://127.0.0.1:{port}", proc)
    return proc


async def wait_healthy(url: str, proc: asyncio.subprocess.Process, seconds: float = 90) -> None:
    """Poll ``/healthz`` until it answers (any status: it is up) or the process exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with httpx.AsyncClient() as client:
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"crmbot run exited during start-up ({proc.returncode})")
            try:
                await client.get(f"{url}/healthz", timeout=2)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("crmbot run did not come up")


def signed_mention(marker: str, text: str, handle: str = "someone") -> tuple[bytes, dict[str, str]]:
    """A generic webhook body for one mention (id ``marker``) and its signed headers."""
    body = json.dumps(
        {
            "type": "mention",
            "source": "bench",
            "id": marker,
            "platform": "twitter",
            "author": {"handle": handle, "followers": 10},
            "text": f"{marker} {text}",
            "posted_at": "2026-11-20T09:00:00Z",
        }
    ).encode()
    headers = {
        "content-type": "application/json",
        "X-Crmbot-Signature": crmbot_signature(WEBHOOK_SECRET, body),
    }
    return body, headers


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
