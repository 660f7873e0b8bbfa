"""Is this run better than the last? Metric changes and the cases that flipped, between two
`report.json` files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from carebot.evals.metrics import score_passes


class ReportError(ValueError):
    """A previous report that cannot be read, with the path."""


def load_report(path: Path) -> dict[str, Any]:
    """A `report.json`, given its file or the directory holding it."""
    file = path / "report.json" if path.is_dir() else path
    try:
        report = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{file}: cannot be read as an eval report ({exc})") from None
    if not isinstance(report, dict) or "groups" not in report or "cases" not in report:
        raise ReportError(f"{file}: not an eval report (no groups or cases)")
    return report


def compare_reports(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Per group and metric: before, after and change; the cases whose pass/fail flipped;
    cases only one of the runs had."""
    metrics: dict[str, dict[str, dict[str, float | None]]] = {}
    for group, table in current["groups"].items():
        before_table = previous["groups"].get(group, {})
        rows = {}
        for name, after in table.items():
            before = before_table.get(name)
            numeric = isinstance(after, int | float) and isinstance(before, int | float)
            rows[name] = {
                "before": before,
                "after": after,
                "change": round(after - before, 4) if numeric else None,  # type: ignore[operator]
            }
        metrics[group] = rows
    before_cases = {c["id"]: c for c in previous["cases"]}
    after_cases = {c["id"]: c for c in current["cases"]}
    flipped = []
    for case_id in sorted(before_cases.keys() & after_cases.keys()):
        was, now = before_cases[case_id]["passed"], after_cases[case_id]["passed"]
        if was != now:
            failing = after_cases[case_id] if not now else before_cases[case_id]
            flipped.append(
                {
                    "id": case_id,
                    "was": "pass" if was else "fail",
                    "now": "pass" if now else "fail",
                    "scores": [s["key"] for s in failing["scores"] if not score_passes(s.get("score"))] or ["error"],
                }
            )
    return {
        "previous": {"started_at": previous.get("started_at"), "model": previous.get("model")},
        "metrics": metrics,
        "flipped": flipped,
        "added": sorted(after_cases.keys() - before_cases.keys()),
        "removed": sorted(before_cases.keys() - after_cases.keys()),
    }
