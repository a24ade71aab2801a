"""`crmbot run` as a real process: SIGTERM while the chat API hangs, and kill -9 mid-stream."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.crash import crash_run
from tests.fakes import crmbot_process as run
from tests.fakes.slack_api import FakeSlack

STOP_BOUND = 10.0  # seconds from SIGTERM to exit (the bound)


def _outbox_statuses(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [s for (s,) in conn.execute(text("SELECT status FROM outbox ORDER BY id"))]
    finally:
        engine.dispose()


async def test_sigterm_exits_quickly_while_slack_hangs_and_keeps_the_alert(
    database_url: str, tmp_path: Path
) -> None:
    slack = FakeSlack(bot_token=run.BOT_TOKEN)
    await slack.start()
    config = tmp_path / "crmbot.toml"
    config.write_text(run.lanes_config(1))
    env = run.run_env(database_url, config, slack.api_url)
    port = run.free_port()
    log = tmp_path / "run.log"
    slack.hang("chat.postMessage", 120)
    proc = await run.start(env, port, log)
    try:
        body, headers = run.signed_mention("HANG-1", "lane0 the app is down")
        async with httpx.AsyncClient() as client:
            accepted = await client.post(
                f"http://127.0.0.1:{port}/webhooks/bench", content=body, headers=headers
            )
        assert accepted.status_code == 202
        await slack.wait_for(lambda: bool(slack.calls_to("chat.postMessage")), seconds=30)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), STOP_BOUND)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, log.read_text()
    assert _outbox_statuses(database_url) == ["pending"]
    assert slack.posts() == []

    # the next start posts what the last one could not
    slack.release()
    proc = await run.start(env, port, log)
    try:
        await slack.wait_for(lambda: len(slack.posts()) == 1, seconds=30)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), STOP_BOUND)
        await slack.stop()
    assert "HANG-1" in slack.posts()[0].text
    assert _outbox_statuses(database_url) == ["sent"]


async def test_kill_9_mid_stream_loses_nothing_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    outcome = await crash_run(database_url, tmp_path, events=120, rate=40, kill_at=0.5)
    assert outcome.resent > 0  # the kill did cut requests off
    assert outcome.lost == []  # every accepted mention was alerted...
    assert outcome.duplicates == {}  # ...exactly once
    assert outcome.doubled_conversations == 0
    assert outcome.workers >= 1 and outcome.orphans == []  # workers died with their parent
