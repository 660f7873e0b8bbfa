"""From scored cases to the figures QA reads: one flat metric table per group of cases
(all, dev, held-out, each language), per-intent precision/recall/F1, a confusion matrix and
latency percentiles."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from carebot.domain import INTENTS, LANGUAGES

HELD_OUT_TAG = "heldout"
SET_TAG_PREFIX = "set:"
"""`carebot eval` tags every case with the dataset it came from (`set:golden`, `set:out_of_scope`, …)."""
# A continuous score (answer overlap) counts as a pass from here; booleans pass when true.
SCORE_PASS = 0.5
# Evaluator keys whose mean is reported under a clearer name.
_METRIC_NAMES = {"intent_match": "intent_accuracy", "injection_resisted": "injection_resistance"}
_ORDER = (
    "escalation_match",
    "tool_calls_match",
    "language_match",
    "must_include",
    "must_not_include",
    "source_hit",
    "answer_overlap",
    "correctness",
    "injection_resistance",
    "injection_lookalike_answered",
)


@dataclass(kw_only=True)
class CaseResult:
    """One case after its run: what went in, what came out, how it scored."""

    id: str
    tags: list[str]
    inputs: dict[str, Any]
    reference_outputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    """Time to answer the scored (last) turn."""
    error: str | None = None
    """Why the run failed, if it did (the runner then records a failed score for every key)."""

    @property
    def passed(self) -> bool:
        return self.error is None and all(score_passes(s["score"]) for s in self.scores)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def score_passes(score: Any) -> bool:
    """Whether one evaluator's score counts as a pass."""
    return score is not None and float(score) >= SCORE_PASS


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


def escalation_counts(cases: Sequence[CaseResult]) -> dict[str, int]:
    """True/false positives and negatives of escalation, over cases that say whether to escalate."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for case in cases:
        expected = case.reference_outputs.get("escalate")
        if expected is None:
            continue
        got = bool(case.outputs.get("escalate")) if case.error is None else not expected
        counts[("t" if got == expected else "f") + ("p" if got else "n")] += 1
    return counts


ASKED_TOPIC_STEP = "ask_topic"
"""The graph node that asks an unsure customer which topic they mean."""


def out_of_scope_counts(cases: Sequence[CaseResult]) -> dict[str, int]:
    """Off-topic cases (reference intent `out_of_scope`), how many the bot did not answer (read as
    out of scope, handed to a person, asked to rephrase or asked which topic: anything but an
    answer) and how many of those it asked which topic; in-scope cases (any other reference intent),
    how many it wrongly read as out of scope (declined) and how many it asked which topic."""
    counts = {
        "off_topic": 0,
        "declined": 0,
        "off_topic_asked": 0,
        "in_scope": 0,
        "false_alarms": 0,
        "in_scope_asked": 0,
    }
    for case in cases:
        expected = case.reference_outputs.get("intent")
        if not expected:
            continue
        got = case.outputs.get("intent") if case.error is None else None
        steps = case.outputs.get("steps", ()) if case.error is None else ()
        asked = ASKED_TOPIC_STEP in steps
        if expected == "out_of_scope":
            counts["off_topic"] += 1
            counts["off_topic_asked"] += asked
            counts["declined"] += case.error is None and (
                got == "out_of_scope"
                or bool(case.outputs.get("escalate"))
                # "Not sure I understood: rephrase, or shall I get a person?" does not answer it either,
                # nor does "is it about 1. shipping 2. …?".
                or "ask_to_rephrase" in steps
                or asked
            )
        else:
            counts["in_scope"] += 1
            counts["in_scope_asked"] += asked
            counts["false_alarms"] += case.error is not None or got == "out_of_scope"
    return counts


def metric_table(cases: Sequence[CaseResult]) -> dict[str, float | int | None]:
    """The headline metrics of a group of cases. A metric no case in the group measures is None."""
    by_key: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        for score in case.scores:
            by_key[score["key"]].append(float(score["score"] or 0))
    escalation = escalation_counts(cases)
    scope = out_of_scope_counts(cases)
    means = {_METRIC_NAMES.get(key, key): _mean(values) for key, values in by_key.items()}
    intents = per_intent(cases)
    latencies = [c.latency_ms for c in cases if c.error is None]
    table: dict[str, float | int | None] = {
        "cases": len(cases),
        "errors": sum(c.error is not None for c in cases),
        "pass_rate": _ratio(sum(c.passed for c in cases), len(cases)),
        "intent_accuracy": means.pop("intent_accuracy", None),
        "intent_macro_f1": _mean(m["f1"] for m in intents.values() if m["support"]),
        "escalation_precision": _ratio(escalation["tp"], escalation["tp"] + escalation["fp"]),
        "escalation_recall": _ratio(escalation["tp"], escalation["tp"] + escalation["fn"]),
        "out_of_scope_declined": _ratio(scope["declined"], scope["off_topic"]),
        "off_topic_asked": _ratio(scope["off_topic_asked"], scope["off_topic"]),
        "out_of_scope_false_alarm": _ratio(scope["false_alarms"], scope["in_scope"]),
        "in_scope_asked": _ratio(scope["in_scope_asked"], scope["in_scope"]),
    }
    # The remaining evaluator means in a fixed order, then any other key (a judge's) by name.
    for key in _ORDER:
        if key in means:
            table[key] = means.pop(key)
    table.update(sorted(means.items()))
    answered = table.get("injection_lookalike_answered")
    # Lower is better (thresholds are minimums, so `injection_lookalike_answered` is what they gate).
    table["injection_false_alarm"] = round(1 - answered, 4) if isinstance(answered, float) else None
    false_alarm = table["out_of_scope_false_alarm"]
    # Lower is better again: the gate is on its complement (thresholds are minimums).
    table["in_scope_not_declined"] = round(1 - false_alarm, 4) if isinstance(false_alarm, float) else None
    table["latency_p50_ms"] = percentile(latencies, 50)
    table["latency_p95_ms"] = percentile(latencies, 95)
    return table


def known_metrics() -> frozenset[str]:
    """Every metric a group's table can hold (a judge's key included)."""
    return frozenset(metric_table([])) | frozenset(_ORDER)


def _intent_pairs(cases: Sequence[CaseResult]) -> list[tuple[str, str]]:
    return [
        (c.reference_outputs["intent"], str(c.outputs.get("intent") if c.error is None else "error"))
        for c in cases
        if c.reference_outputs.get("intent")
    ]


def per_intent(cases: Sequence[CaseResult]) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1 and support of each intent (support: cases expecting it)."""
    pairs = _intent_pairs(cases)
    if not pairs:
        return {i: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0} for i in INTENTS}
    from sklearn.metrics import precision_recall_fscore_support  # seconds to import: only when reporting

    expected, got = zip(*pairs, strict=True)
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, got, labels=list(INTENTS), zero_division=0
    )
    predicted = Counter(got)
    return {
        intent: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
            "predicted": predicted[intent],
        }
        for i, intent in enumerate(INTENTS)
    }


def confusion_matrix(cases: Sequence[CaseResult]) -> dict[str, Any]:
    """Rows: expected intent; columns: classified intent (plus `error` for crashed cases)."""
    pairs = _intent_pairs(cases)
    columns = list(INTENTS) + (["error"] if any(got == "error" for _, got in pairs) else [])
    if not pairs:
        return {"labels": list(INTENTS), "columns": columns, "matrix": [[0] * len(columns) for _ in INTENTS]}
    from sklearn.metrics import confusion_matrix as counts_by_pair

    expected, got = zip(*pairs, strict=True)
    matrix = counts_by_pair(expected, got, labels=columns)[: len(INTENTS)]
    return {"labels": list(INTENTS), "columns": columns, "matrix": matrix.tolist()}


def _in_language(language: str) -> Callable[[CaseResult], bool]:
    return lambda case: case.reference_outputs.get("language") == language


GROUPS: dict[str, Callable[[CaseResult], bool]] = {
    "all": lambda case: True,
    "dev": lambda case: HELD_OUT_TAG not in case.tags,
    "heldout": lambda case: HELD_OUT_TAG in case.tags,
    **{f"lang:{language}": _in_language(language) for language in LANGUAGES},
}


def _tagged(tag: str) -> Callable[[CaseResult], bool]:
    return lambda case: tag in case.tags


def case_sets(cases: Sequence[CaseResult]) -> list[str]:
    """The datasets the cases came from (their `set:` tags), in order of appearance."""
    return list(dict.fromkeys(t for c in cases for t in c.tags if t.startswith(SET_TAG_PREFIX)))


def group_metrics(cases: Sequence[CaseResult]) -> dict[str, dict[str, float | int | None]]:
    """The metric table of every non-empty group: all, dev, heldout, lang:en, lang:id, lang:es,
    and one per dataset (`set:<name>`) when the run has several."""
    groups = dict(GROUPS)
    sets = case_sets(cases)
    if len(sets) > 1:
        groups.update({name: _tagged(name) for name in sets})
    tables = {}
    for name, member in groups.items():
        group = [c for c in cases if member(c)]
        if group:
            tables[name] = metric_table(group)
    return tables


# What QA reads per dataset and language (the understanding figures), beside the group tables.
SET_LANGUAGE_METRICS = (
    "cases",
    "intent_accuracy",
    "out_of_scope_declined",
    "off_topic_asked",
    "out_of_scope_false_alarm",
    "in_scope_asked",
    "injection_resistance",
    "injection_false_alarm",
)


def set_language_metrics(cases: Sequence[CaseResult]) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Per dataset, per language (then `all`): cases, intent accuracy, out-of-scope declined and
    false-alarm rates, injection resistance and false alarms. A case without a reference language
    counts under `all` only."""
    report: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for name in case_sets(cases) or [f"{SET_TAG_PREFIX}all"]:
        in_set = [c for c in cases if name in c.tags] or list(cases)
        columns: dict[str, list[CaseResult]] = {
            language: [c for c in in_set if _in_language(language)(c)] for language in LANGUAGES
        }
        columns["all"] = in_set
        report[name.removeprefix(SET_TAG_PREFIX)] = {
            column: {key: value for key, value in metric_table(group).items() if key in SET_LANGUAGE_METRICS}
            for column, group in columns.items()
            if group
        }
    return report


def scope_curves(cases: Sequence[CaseResult]) -> dict[str, dict[str, list[dict[str, float | None]]]]:
    """Per dataset, per language (then `all`): for each decline threshold, the share of in-scope
    messages the classifier's off-topic evidence would decline (false alarms) and the share of
    off-topic ones. Only cases whose classifier gives that evidence (the offline model's) count;
    the threshold the model uses was chosen on its training data, never here."""
    from carebot.models.scope import trade_off_curve

    curves: dict[str, dict[str, list[dict[str, float | None]]]] = {}
    for name in case_sets(cases) or [f"{SET_TAG_PREFIX}all"]:
        scored = [
            c
            for c in cases
            if (name in c.tags or not case_sets(cases))
            and c.error is None
            and c.reference_outputs.get("intent")
            and c.outputs.get("off_topic") is not None
        ]
        columns: dict[str, list[CaseResult]] = {
            language: [c for c in scored if _in_language(language)(c)] for language in LANGUAGES
        }
        columns["all"] = scored
        per_language: dict[str, list[dict[str, float | None]]] = {
            column: [
                asdict(point)
                for point in trade_off_curve(
                    [float(c.outputs["off_topic"]) for c in group],
                    [c.reference_outputs["intent"] == "out_of_scope" for c in group],
                )
            ]
            for column, group in columns.items()
            if group
        }
        if per_language:
            curves[name.removeprefix(SET_TAG_PREFIX)] = per_language
    return curves


def latency_summary(cases: Sequence[CaseResult]) -> dict[str, float]:
    latencies = [c.latency_ms for c in cases if c.error is None]
    return {
        "p50": percentile(latencies, 50),
        "p90": percentile(latencies, 90),
        "p95": percentile(latencies, 95),
        "max": max(latencies, default=0.0),
        "mean": round(statistics.fmean(latencies), 2) if latencies else 0.0,
    }
