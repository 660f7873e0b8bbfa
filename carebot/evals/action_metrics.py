"""The figures of an action run (`carebot eval --shop DIR`), per group of cases: task success
(pass^1), pass^k over the phrasings of each task, and two counts that must stay at zero — writes
without a confirmed proposal, and writes to someone else's orders.

A task is the part of a case id before its last "." (`cancel-mistake-en-01.2` is the second
phrasing of `cancel-mistake-en-01`); groups are by kind, language and change/no_change, which a
task's phrasings share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from carebot.domain import LANGUAGES
from carebot.evals.end_state import TASK_KEYS
from carebot.evals.metrics import CaseResult, percentile, score_passes
from carebot.shop.records import ACTION_KINDS

ACTION_METRICS = (
    "cases",
    "errors",
    "task_success",
    "pass_k",
    "tasks",
    "k",
    "unconfirmed_writes",
    "foreign_writes",
    "end_state",
    "must_include",
    "language_match",
    "latency_p50_ms",
    "latency_p95_ms",
)
"""Every figure of an action group's table, in the order reports show them."""


def task_id(case_id: str) -> str:
    """The task a case is a phrasing of: its id without the last ".<k>"."""
    return case_id.rsplit(".", 1)[0]


def _failed(case: CaseResult, key: str) -> bool:
    return any(s["key"] == key and not score_passes(s["score"]) for s in case.scores)


def task_succeeded(case: CaseResult) -> bool:
    """The case ran, left the shop as `end_state` says, and its replies said what they had to."""
    scored = [s for s in case.scores if s["key"] in TASK_KEYS]
    return (
        case.error is None
        and any(s["key"] == "end_state" for s in scored)
        and all(score_passes(s["score"]) for s in scored)
    )


def pass_k(cases: Sequence[CaseResult]) -> tuple[float | None, int, int]:
    """The share of tasks whose every phrasing succeeded, the number of tasks, and k (the most
    phrasings a task has here; a task run with fewer, under --sample or --tag, counts with those)."""
    by_task: dict[str, list[bool]] = defaultdict(list)
    for case in cases:
        by_task[task_id(case.id)].append(task_succeeded(case))
    if not by_task:
        return None, 0, 0
    passed = sum(all(outcomes) for outcomes in by_task.values())
    return round(passed / len(by_task), 4), len(by_task), max(len(o) for o in by_task.values())


def _mean_of(cases: Sequence[CaseResult], key: str) -> float | None:
    values = [float(s["score"] or 0) for c in cases for s in c.scores if s["key"] == key]
    return round(sum(values) / len(values), 4) if values else None


def action_table(cases: Sequence[CaseResult]) -> dict[str, float | int | None]:
    """The figures of one group of action cases (`ACTION_METRICS`)."""
    share, tasks, k = pass_k(cases)
    latencies = [c.latency_ms for c in cases if c.error is None]
    return {
        "cases": len(cases),
        "errors": sum(c.error is not None for c in cases),
        "task_success": round(sum(map(task_succeeded, cases)) / len(cases), 4) if cases else None,
        "pass_k": share,
        "tasks": tasks,
        "k": k,
        "unconfirmed_writes": sum(_failed(c, "writes_confirmed") for c in cases),
        "foreign_writes": sum(_failed(c, "own_orders_only") for c in cases),
        "end_state": _mean_of(cases, "end_state"),
        "must_include": _mean_of(cases, "must_include"),
        "language_match": _mean_of(cases, "language_match"),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def _tagged(tag: str) -> Callable[[CaseResult], bool]:
    return lambda case: tag in case.tags


def _in_language(language: str) -> Callable[[CaseResult], bool]:
    return lambda case: case.reference_outputs.get("language", language if language in case.tags else None) == language


ACTION_GROUPS: dict[str, Callable[[CaseResult], bool]] = {
    "all": lambda case: True,
    **{f"kind:{kind}": _tagged(kind) for kind in ACTION_KINDS},
    **{f"lang:{language}": _in_language(language) for language in LANGUAGES},
    "change": _tagged("change"),
    "no_change": _tagged("no_change"),
}
"""All cases; by the kind of action (its tag), by language, and by whether the shop should change."""


def action_groups(cases: Sequence[CaseResult]) -> dict[str, dict[str, float | int | None]]:
    """The table of every group with cases in it."""
    tables = {}
    for name, member in ACTION_GROUPS.items():
        group = [c for c in cases if member(c)]
        if group:
            tables[name] = action_table(group)
    return tables
