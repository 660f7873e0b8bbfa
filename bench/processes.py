"""The processes under test, started as users start them: `carebot serve`, `carebot worker`,
`langgraph dev`, one-shot `carebot` commands."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from asyncio.subprocess import Process
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CAREBOT = str(BIN / "carebot")

# Settings a developer's shell may carry that would send the app elsewhere (tracing, real keys).
_FOREIGN_PREFIXES = ("LANGSMITH_", "LANGCHAIN_", "OPENAI_", "AWS_", "TWILIO_", "DISCORD_", "BEDROCK_")
_FOREIGN_NAMES = ("DATABASE_URL", "MODEL", "CLASSIFIER_MODEL", "EMBEDDINGS", "KNOWLEDGE_BASE_ID", "ORDERS_API_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def carebot_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a carebot process: this database, the offline model unless `settings`
    say otherwise, fresh thread ids, and nothing from the developer's own configuration."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_FOREIGN_PREFIXES) and key not in _FOREIGN_NAMES
    }
    env.update(
        DATABASE_URL=database_url,
        MODEL="offline",
        SEED_DEMO_DATA="true",
        THREAD_ID_SALT=uuid.uuid4().hex,
        # A bench user writes far faster than a person: the per-sender limit would answer 429.
        RATE_LIMIT_PER_MINUTE="1000000",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="1",
    )
    env.update(settings)
    return env


@dataclass
class Running:
    """A started server process and where it answers."""

    process: Process
    url: str
    seconds_to_ready: float
    log: Path


async def _wait_until_ready(process: Process, url: str, log: Path, within: float) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{log.stem} exited with {process.returncode}:\n{_tail(log)}")
            try:
                if (await client.get(url)).is_success:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {within}s:\n{_tail(log)}")
            await asyncio.sleep(0.02)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@asynccontextmanager
async def running(
    cmd: list[str], *, env: Mapping[str, str], ready_url: str, base_url: str, cwd: Path, log: Path, within: float = 180
) -> AsyncIterator[Running]:
    """Start `cmd`, wait until `ready_url` answers 2xx (timing it), stop it on the way out."""
    started = time.monotonic()
    process = await _start(cmd, env=env, cwd=cwd, log=log)
    try:
        await _wait_until_ready(process, ready_url, log, within)
        yield Running(process, base_url, time.monotonic() - started, log)
    finally:
        await stop(process)


async def _start(cmd: list[str], *, env: Mapping[str, str], cwd: Path, log: Path) -> Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *cmd, env=dict(env), cwd=cwd, stdout=out, stderr=asyncio.subprocess.STDOUT
        )


async def stop(process: Process) -> None:
    """SIGTERM, as a service manager would; SIGKILL if it has not exited 20 s later."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 20)
    except TimeoutError:
        process.kill()
        await process.wait()


@asynccontextmanager
async def carebot_serve(env: Mapping[str, str], workdir: Path, name: str) -> AsyncIterator[Running]:
    """`carebot serve` on a free port, ready when `/health/ready` says so. It runs in `workdir`,
    so no `.env` of the developer's applies."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [CAREBOT, "serve", "--host", "127.0.0.1", "--port", str(port)]
    async with running(
        cmd, env=env, ready_url=f"{url}/health/ready", base_url=url, cwd=workdir, log=workdir / f"{name}.log"
    ) as server:
        yield server


async def worker_command_exists() -> bool:
    """Whether this version of carebot has `carebot worker` (the job-queue rewrite adds it)."""
    process = await asyncio.create_subprocess_exec(
        CAREBOT, "worker", "--help", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await process.wait() == 0


@asynccontextmanager
async def carebot_workers(count: int, env: Mapping[str, str], workdir: Path) -> AsyncIterator[None]:
    """`count` extra `carebot worker` processes on the same database, stopped on the way out."""
    processes: list[Process] = []
    try:
        for n in range(count):
            processes.append(await _start([CAREBOT, "worker"], env=env, cwd=workdir, log=workdir / f"worker-{n}.log"))
        yield
    finally:
        await asyncio.gather(*(stop(p) for p in processes))


async def registered_workers(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM procrastinate_workers")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def wait_for_workers(database_url: str, *, more_than: int, processes: int = 1, within: float = 60) -> None:
    """Until `processes` more processes' workers (turns and sends) have registered with the job
    queue than the `more_than` workers before, which they do once their models are warm."""
    deadline = time.monotonic() + within
    while await registered_workers(database_url) < more_than + 2 * processes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{processes} worker process(es) did not register within {within:g} s")
        await asyncio.sleep(0.1)


async def wall_time(cmd: list[str], *, env: Mapping[str, str], cwd: Path) -> float:
    """Seconds a one-shot command takes, start to exit; it must succeed."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *cmd, env=dict(env), cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise RuntimeError(f"{cmd!r} exited with {process.returncode}:\n{stderr.decode(errors='replace')[-2000:]}")
    return elapsed
