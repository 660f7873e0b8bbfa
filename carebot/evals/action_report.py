"""The report of an action run (`carebot eval --shop DIR`): `report.json` in the answer runs'
shape (`groups`, `cases`, `below_thresholds`, so `--compare` reads it too) with `"kind": "actions"`,
and a `report.html` of its own: the measures per group, then each failing case's conversation,
what it changed in the shop and what it should have."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from carebot.evals.action_metrics import ACTION_METRICS, action_groups, task_succeeded
from carebot.evals.compare import compare_reports
from carebot.evals.metrics import CaseResult, latency_summary, score_passes
from carebot.evals.report import CSS, comparison_section, number_cell, verdict
from carebot.evals.thresholds import Thresholds, below_thresholds, describe_limit

REPORT_KIND = "actions"


def build_action_report(
    cases: Sequence[CaseResult],
    *,
    about: dict[str, Any],
    thresholds: Thresholds,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything about an action run; each case also says whether its task succeeded."""
    groups = action_groups(cases)
    report: dict[str, Any] = {
        **about,
        "kind": REPORT_KIND,
        "groups": groups,
        "latency_ms": latency_summary(cases),
        "thresholds": thresholds,
        "below_thresholds": below_thresholds(groups, thresholds),
        "cases": [{**c.as_json(), "task_success": task_succeeded(c)} for c in cases],
    }
    if previous is not None:
        report["comparison"] = compare_reports(report, previous)
    return report


_SHOWN = [m for m in ACTION_METRICS if not m.startswith("latency")]


def _measures(report: dict[str, Any]) -> str:
    """One row per group, one column per measure; the `all` thresholds on top, misses in red."""
    missed = {(f["group"], f["metric"]) for f in report["below_thresholds"]}
    limits = report["thresholds"].get("all", {})
    # Headings wrap at the underscores: the table must fit the page.
    head = "".join(f'<th title="{escape(m)}">{escape(m.replace("_", " "))}</th>' for m in _SHOWN)
    limit_row = "".join(f"<td>{escape(describe_limit(limits[m])) if m in limits else ''}</td>" for m in _SHOWN)
    rows = [f'<tr class="muted"><td class="l">threshold (all)</td>{limit_row}</tr>']
    for group, table in report["groups"].items():
        css = {m: ' class="below"' if (group, m) in missed else "" for m in _SHOWN}
        cells = "".join(f"<td{css[m]}>{number_cell(table.get(m))}</td>" for m in _SHOWN)
        rows.append(f'<tr><td class="l">{escape(group)}</td>{cells}</tr>')
    return f'<table><tr><th class="l">group</th>{head}</tr>{"".join(rows)}</table>'


def _conversation(case: dict[str, Any]) -> str:
    """The customer's turns and the bot's replies, each reply with what it did about an action."""
    turns = case["outputs"].get("turns") or [{"message": m} for m in case["inputs"]["messages"]]
    lines: list[str] = []
    for turn in turns:
        gap = "\n" if lines else ""  # a blank line between turns
        lines.append(f"{gap}› {turn['message']}")
        if "answer" in turn:
            action = turn.get("action")
            state = f"[{action.get('kind')} {action.get('order_number')}: {action.get('state')}] " if action else ""
            lines.append(f"‹ {state}{turn['answer']}")
    return f"<pre>{escape(chr(10).join(lines))}</pre>"


def _json(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False, indent=1))


def _case(case: dict[str, Any]) -> str:
    status = "pass" if case["passed"] else "fail"
    scores = "".join(
        f'<span class="score {"p" if score_passes(s["score"]) else "f"}">{escape(s["key"])}</span>'
        for s in case["scores"]
    )
    problems = "".join(
        f"<li>{escape(s['key'])}: {escape(str(s.get('comment', '')))}</li>"
        for s in case["scores"]
        if not score_passes(s["score"])
    )
    if case["error"]:
        problems += f"<li>error: {escape(case['error'])}</li>"
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in case["tags"])
    changed = case["outputs"].get("shop_changes", {})
    expected = case["reference_outputs"].get("end_state", {})
    return (
        f'<div class="case {status}"><b>{escape(case["id"])}</b>{tags} '
        f'<span class="meta">{escape(case["inputs"]["user"])}</span><div>{scores}</div>'
        f"{f'<ul>{problems}</ul>' if problems else ''}{_conversation(case)}"
        f'<div class="meta">changed in the shop</div><pre>{_json(changed)}</pre>'
        f'<div class="meta">expected (end_state)</div><pre>{_json(expected)}</pre></div>'
    )


def render_action_html(report: dict[str, Any]) -> str:
    failures = [c for c in report["cases"] if not c["passed"]]
    passes = [c for c in report["cases"] if c["passed"]]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>carebot eval · {escape(str(report.get("dataset")))}</title><style>{CSS}</style></head>
<body><main>
<h1>carebot evaluation: actions</h1>
<div class="meta">{escape(str(report.get("dataset")))} on the shop {escape(str(report.get("shop")))} ·
model {escape(str(report.get("model")))} · {escape(str(report.get("started_at")))} ·
{len(report["cases"])} cases, {len(failures)} failing</div>
{verdict(report)}
<h2>Measures</h2>
<p class="meta"><b>task_success</b> (pass^1): cases that left the shop exactly as their <code>end_state</code> says
and whose replies named what <code>must_include</code> asks. <b>pass_k</b>: tasks whose every phrasing (k of them)
succeeded. <b>unconfirmed_writes</b>: cases that changed the shop without a proposal and the customer's yes the turn
after, or that reported an action done without one. <b>foreign_writes</b>: cases that changed another customer's
order or gift card. Groups: the kind of action, the language, and whether the shop should change.</p>
{_measures(report)}
{comparison_section(report)}
<h2>Failing cases ({len(failures)})</h2>
{"".join(_case(c) for c in failures) or "<p>None.</p>"}
<details><summary>Passing cases ({len(passes)})</summary>{"".join(_case(c) for c in passes)}</details>
</main></body></html>
"""
