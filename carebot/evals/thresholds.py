"""Minimum scores a run must reach (`evals/thresholds.toml`): one table per group of cases.

[all]
intent_accuracy = 0.85

[heldout]
intent_accuracy = 0.8
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from carebot.evals.metrics import known_metrics

Thresholds = dict[str, dict[str, float]]


class ThresholdError(ValueError):
    """A thresholds file that cannot be used, with the path and the bad entry."""


def load_thresholds(path: Path) -> Thresholds:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdError(f"{path}: cannot be read ({exc})") from None
    thresholds: Thresholds = {}
    for group, table in data.items():
        if not isinstance(table, dict):
            raise ThresholdError(f"{path}: {group}: expected a table of metric = minimum")
        for metric, minimum in table.items():
            if isinstance(minimum, bool) or not isinstance(minimum, int | float):
                raise ThresholdError(f"{path}: {group}.{metric}: expected a number, got {minimum!r}")
        thresholds[group] = {metric: float(minimum) for metric, minimum in table.items()}
    return thresholds


def below_thresholds(groups: dict[str, dict[str, Any]], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Every metric under its minimum. A group the run has no cases for, and a metric none of the
    group's cases measures, are skipped; a name that is no metric at all fails, so a typo in
    the file cannot pass silently."""
    failures = []
    metrics = known_metrics()
    for group, minimums in thresholds.items():
        table = groups.get(group)
        if table is None:
            continue
        for metric, minimum in minimums.items():
            value = table.get(metric)
            if value is None and metric in metrics:
                continue
            if value is None or value < minimum:
                failures.append({"group": group, "metric": metric, "value": value, "minimum": minimum})
    return failures
