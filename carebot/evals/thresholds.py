"""What a run must reach (`evals/thresholds.toml`): one table per group of cases. A number is a
minimum; `{ at_most = N }` is a maximum, for counts where fewer is better.

[all]
intent_accuracy = 0.85
unconfirmed_writes = { at_most = 0 }

[heldout]
intent_accuracy = 0.8
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from carebot.evals.action_metrics import ACTION_METRICS
from carebot.evals.metrics import known_metrics

Thresholds = dict[str, dict[str, float | dict[str, float]]]
"""Per group, per metric: a minimum, or `{"at_most": maximum}` (the file's own shape)."""


class ThresholdError(ValueError):
    """A thresholds file that cannot be used, with the path and the bad entry."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _limit(path: Path, where: str, value: Any) -> float | dict[str, float]:
    if _number(value):
        return float(value)
    if isinstance(value, dict) and value.keys() == {"at_most"} and _number(value["at_most"]):
        return {"at_most": float(value["at_most"])}
    raise ThresholdError(f"{path}: {where}: expected a number (a minimum) or {{ at_most = N }}, got {value!r}")


def load_thresholds(path: Path) -> Thresholds:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdError(f"{path}: cannot be read ({exc})") from None
    thresholds: Thresholds = {}
    for group, table in data.items():
        if not isinstance(table, dict):
            raise ThresholdError(f"{path}: {group}: expected a table of metric = minimum")
        thresholds[group] = {metric: _limit(path, f"{group}.{metric}", value) for metric, value in table.items()}
    return thresholds


def every_metric() -> frozenset[str]:
    """Every name a thresholds file may gate: the answer runs' metrics and the action runs'."""
    return known_metrics() | frozenset(ACTION_METRICS)


def describe_limit(limit: float | dict[str, float]) -> str:
    """ "≥ 0.9" or "≤ 0", as the report's threshold column shows it."""
    return f"≤ {limit['at_most']:g}" if isinstance(limit, dict) else f"≥ {limit:g}"


def below_thresholds(groups: dict[str, dict[str, Any]], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Every metric on the wrong side of its limit (`minimum` or `at_most` names which). A group
    the run has no cases for, and a metric none of the group's cases measures, are skipped; a name
    that is no metric at all fails, so a typo in the file cannot pass silently."""
    failures = []
    metrics = every_metric()
    for group, limits in thresholds.items():
        table = groups.get(group)
        if table is None:
            continue
        for metric, limit in limits.items():
            value = table.get(metric)
            if value is None and metric in metrics:
                continue
            bound = {"at_most": limit["at_most"]} if isinstance(limit, dict) else {"minimum": limit}
            missed = value is None or (value > limit["at_most"] if isinstance(limit, dict) else value < limit)
            if missed:
                failures.append({"group": group, "metric": metric, "value": value, **bound})
    return failures


def failure_line(failure: dict[str, Any]) -> str:
    """ "below threshold: all.task_success = 0.5 < 0.9", "above threshold: all.foreign_writes = 2 > 0"."""
    name = f"{failure['group']}.{failure['metric']} = {failure['value']}"
    if "at_most" in failure:
        return f"above threshold: {name} > {failure['at_most']}"
    return f"below threshold: {name} < {failure['minimum']}"
