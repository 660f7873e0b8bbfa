"""The embedded PostgreSQL stops with the last process using it: after a one-shot `carebot chat`,
and after a process using it was killed (as `langgraph dev`'s server is by a re-raised SIGTERM
when `make studio` is interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import BIN


def carebot_env(data_dir: Path) -> dict[str, str]:
    """No DATABASE_URL: the embedded server, in a data directory of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "OPENAI_", "AWS_"))}
    env.pop("DATABASE_URL", None)
    env.update(DATA_DIR=str(data_dir), MODEL="offline", EMBEDDINGS="local")
    env.pop("CLASSIFIER_MODEL", None)
    return env


def processes_on(pgdata: Path) -> list[str]:
    """The PostgreSQL server and any watcher of it, as `ps` would list them."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if str(pgdata) in command:
            found.append(" ".join(command))
    return found


def handles(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    return list(json.loads(path.read_text() or "[]")) if path.exists() else []


def wait_until(condition: Callable[[], bool], *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
def test_the_embedded_postgres_stops_with_the_last_process_using_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"
    env = carebot_env(data_dir)

    try:
        stops_with_its_last_user(tmp_path, pgdata, env)
    finally:  # a failure must not leave the server (or its watcher) running after the test
        for process in psutil.process_iter(["cmdline"]):
            if str(pgdata) in (process.info["cmdline"] or []):
                process.terminate()


def stops_with_its_last_user(tmp_path: Path, pgdata: Path, env: dict[str, str]) -> None:
    one_shot = subprocess.run(
        [str(BIN / "carebot"), "chat", "hi"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert one_shot.returncode == 0, one_shot.stderr
    assert wait_until(lambda: not processes_on(pgdata), timeout=30), processes_on(pgdata)

    # A chat left open, then killed: no exit hook of its runs, so the server is stopped for it.
    chatting = subprocess.Popen(
        [str(BIN / "carebot"), "chat"], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        assert wait_until(lambda: chatting.pid in handles(pgdata), timeout=120), "the chat never used the server"
        assert any("postgres" in command for command in processes_on(pgdata))
    finally:
        chatting.send_signal(signal.SIGKILL)
        chatting.wait(timeout=30)
    assert wait_until(lambda: not processes_on(pgdata), timeout=30), processes_on(pgdata)
