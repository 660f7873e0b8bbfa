"""A small stand-in for the LangSmith REST API: enough for the real `langsmith.Client` to sync a
dataset and run an experiment against it, with every dataset, example, run and feedback kept
so tests can look at what arrived."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import Recorded

TENANT = "00000000-0000-0000-0000-0000000000aa"
# What `GET /info` answers: use_multipart_endpoint=False makes the client send runs as plain
# JSON to /runs/batch; the rest are the batching limits its background thread reads.
INFO = {
    "version": "test",
    "batch_ingest_config": {
        "use_multipart_endpoint": False,
        "size_limit": 100,
        "size_limit_bytes": 20_971_520,
        "scale_up_qsize_trigger": 1000,
        "scale_up_nthreads_limit": 16,
        "scale_down_nempty_trigger": 4,
    },
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FakeLangSmith:
    def __init__(self) -> None:
        self.datasets: dict[str, dict[str, Any]] = {}
        self.examples: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.feedback: list[dict[str, Any]] = []

    def __call__(self, request: Recorded) -> tuple[int, Any]:
        url = urlsplit(request.path)
        path, query = url.path, parse_qs(url.query)
        body = request.json() if request.body and request.body[:1] in (b"{", b"[") else None
        method = request.method
        if path == "/info":
            return 200, INFO
        if path == "/datasets" and method == "GET":
            names = query.get("name", [])
            ids = query.get("id", [])
            found = [
                d for d in self.datasets.values() if (not names or d["name"] in names) and (not ids or d["id"] in ids)
            ]
            return 200, found
        if path == "/datasets" and method == "POST":
            dataset = {"id": str(uuid.uuid4()), "created_at": _now(), "modified_at": _now(), **body}
            self.datasets[dataset["id"]] = dataset
            return 200, dataset
        if path.startswith("/datasets/") and method == "GET":
            dataset_id = path.split("/")[2]
            if dataset_id in self.datasets:
                return 200, self.datasets[dataset_id]
            return 404, {"detail": "not found"}
        if path == "/examples" and method == "GET":
            wanted = set(query.get("dataset", []))
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["100"])[0])
            found = [e for e in self.examples.values() if not wanted or e["dataset_id"] in wanted]
            return 200, found[offset : offset + limit]
        if path == "/examples/bulk" and method == "POST":
            created = []
            for row in body:
                example = {"id": row.get("id") or str(uuid.uuid4()), "created_at": _now(), **row}
                example.pop("use_source_run_io", None)
                self.examples[example["id"]] = example
                created.append(example)
            return 200, created
        if path == "/examples/bulk" and method == "PATCH":
            for row in body:
                self.examples[row["id"]].update({k: v for k, v in row.items() if v is not None})
            return 200, {"message": f"{len(body)} examples updated"}
        if path == "/examples" and method == "DELETE":
            for example_id in query.get("example_ids", []):
                self.examples.pop(example_id, None)
            return 200, {}
        if path == "/sessions" and method == "POST":
            session = {"id": body.get("id") or str(uuid.uuid4()), "tenant_id": TENANT, "start_time": _now(), **body}
            self.sessions[session["id"]] = session
            return 200, session
        if path == "/sessions" and method == "GET":
            names = query.get("name", [])
            return 200, [s for s in self.sessions.values() if not names or s["name"] in names]
        if path.startswith("/sessions/") and method in ("PATCH", "GET"):
            session = self.sessions.setdefault(path.split("/")[2], {"id": path.split("/")[2], "tenant_id": TENANT})
            session.update({k: v for k, v in (body or {}).items() if v is not None})
            return 200, session
        if path == "/runs/batch" and method == "POST":
            for run in body.get("post", []):
                self.runs[run["id"]] = run
            for run in body.get("patch", []):
                self.runs.setdefault(run["id"], {}).update(run)
            return 200, {}
        if path == "/feedback" and method == "POST":
            self.feedback.append(body)
            return 200, {"id": body.get("id") or str(uuid.uuid4()), "created_at": _now(), "modified_at": _now(), **body}
        return 200, {}

    def examples_of(self, dataset_name: str) -> list[dict[str, Any]]:
        ids = {d["id"] for d in self.datasets.values() if d["name"] == dataset_name}
        return [e for e in self.examples.values() if e["dataset_id"] in ids]
