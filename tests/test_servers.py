"""The app as users run it: `carebot serve` over HTTP, `langgraph dev` for Studio, and
LangSmith traces from `carebot chat` — each a real process on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from carebot.db.scope import DEFAULT_TENANT_ID
from tests.conftest import BIN, REPO, free_port
from tests.fake_langsmith import INFO
from tests.loopback import LoopbackServer, Recorded, running_process

pytestmark = pytest.mark.slow


def test_http_api(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "carebot"), "serve", "--port", str(port)]
    with running_process(cmd, env=cli_env, ready_url=f"{base}/health", cwd=tmp_path, log=tmp_path / "serve.log"):
        assert httpx.get(f"{base}/health").json()["model"] == "offline"
        assert httpx.get(f"{base}/health/ready").json() == {"status": "ready", "database": "ok"}
        # Ready means messages are accepted; the first answer may wait for the worker's models to warm up.
        reply = httpx.post(
            f"{base}/chat", json={"user_id": "+34600100001", "text": "¿cómo devuelvo un artículo?"}, timeout=30
        )
        assert reply.status_code == 200
        body = reply.json()
        assert body["intent"] == "returns_refunds" and body["escalate"] is False
        assert "Fuente: Devoluciones y reembolsos" in body["answer"] and body["thread_id"].startswith(
            f"{DEFAULT_TENANT_ID}:web:"
        )
        bad_json = httpx.post(f"{base}/chat", content=b'{"user_id": "x"', headers={"content-type": "application/json"})
        assert bad_json.status_code == 422 and "JSON" in bad_json.text
        empty = httpx.post(f"{base}/chat", json={"user_id": "x", "text": ""})
        assert empty.status_code == 422 and "text" in empty.text
        too_long = httpx.post(f"{base}/chat", json={"user_id": "x", "text": "a" * 5000})
        assert too_long.status_code == 422
        assert httpx.get(f"{base}/chat").status_code == 405
        page = httpx.get(f"{base}/ui")
        assert page.status_code == 200 and 'id="send"' in page.text and "/chat" in page.text
    log = (tmp_path / "serve.log").read_text()
    assert all(json.loads(line) for line in log.splitlines() if line.startswith("{"))  # JSON log lines


def test_studio_serves_the_graph_from_an_empty_database(
    cli_env: dict[str, str], empty_database_url: str, tmp_path: Path
) -> None:
    # The demo shop is seeded inside `langgraph dev`, whose event loop refuses blocking calls.
    env = {**cli_env, "DATABASE_URL": empty_database_url, "SEED_DEMO_DATA": "true"}
    url = "http://127.0.0.1:2025"
    cmd = [str(BIN / "langgraph"), "dev", "--no-browser", "--port", "2025", "--no-reload"]
    with running_process(cmd, env=env, ready_url=f"{url}/ok", cwd=REPO, log=tmp_path / "studio.log"):

        async def converse() -> tuple[dict[str, Any], dict[str, Any]]:
            client = get_client(url=url)
            thread = await client.threads.create()
            first = await client.runs.wait(
                thread["thread_id"],
                "carebot",
                input={"messages": [{"role": "human", "content": "¿cuánto tarda el envío?"}]},
            )
            second = await client.runs.wait(
                thread["thread_id"], "carebot", input={"messages": [{"role": "human", "content": "where is my order?"}]}
            )
            return first, second  # type: ignore[return-value]

        first, second = asyncio.run(converse())
    assert first["intent"] == "shipping" and "3 a 5 días laborables" in first["messages"][-1]["content"]
    # Studio runs act as the demo customer, and the thread keeps both turns.
    assert "A1001" in second["messages"][-1]["content"] and len(second["messages"]) == 4


def langsmith_api(request: Recorded) -> tuple[int, Any]:
    if request.path.startswith("/info"):
        return 200, INFO
    return 202, {}


def test_each_turn_is_one_langsmith_trace_with_thread_channel_and_intent(cli_env: dict[str, str]) -> None:
    with LoopbackServer(langsmith_api) as fake:
        env = {
            **cli_env,
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": fake.url,
            "LANGSMITH_API_KEY": "lsv2-test",
            "LANGSMITH_PROJECT": "carebot-tests",
        }
        done = subprocess.run(
            [str(BIN / "carebot"), "chat", "where is my order?", "--user", "+14155550100", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    thread_id = json.loads(done.stdout)["thread_id"]
    runs: dict[str, dict[str, Any]] = {}
    for request in fake.requests:
        if request.path.startswith("/runs/batch"):
            batch = request.json()
            for run in batch.get("post", []) + batch.get("patch", []):
                merged = runs.setdefault(run["id"], {})
                metadata = {**merged.get("metadata", {}), **((run.get("extra") or {}).get("metadata") or {})}
                merged.update(run)
                merged["metadata"] = metadata
    roots = [r for r in runs.values() if not r.get("parent_run_id")]
    assert len(roots) == 1, [r.get("name") for r in roots]
    root = roots[0]
    assert root["name"] == "carebot"
    assert root["metadata"]["thread_id"] == thread_id
    assert root["metadata"]["channel"] == "web" and root["metadata"]["intent"] == "order_status"
    assert "+14155550100" not in json.dumps(root["metadata"])
    assert {r["name"] for r in runs.values()} >= {"classify", "lookup_order", "generate", "check_guardrails"}
