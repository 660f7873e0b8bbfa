"""The run's report: `report.json` (everything, for machines and `--compare`) and
`report.html` (one self-contained page for people: no scripts, no network, opens offline)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from carebot.evals.compare import compare_reports
from carebot.evals.metrics import (
    SET_LANGUAGE_METRICS,
    CaseResult,
    confusion_matrix,
    group_metrics,
    latency_summary,
    per_intent,
    scope_curves,
    score_passes,
    set_language_metrics,
)
from carebot.evals.thresholds import Thresholds, below_thresholds, describe_limit


def build_report(
    cases: Sequence[CaseResult],
    *,
    about: dict[str, Any],
    thresholds: Thresholds,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything about a run. `about` describes it (dataset, model, seed, …); `previous` is an
    earlier report to compare with."""
    groups = group_metrics(cases)
    report: dict[str, Any] = {
        **about,
        "groups": groups,
        "sets": set_language_metrics(cases),
        "scope_curves": scope_curves(cases),
        "intents": per_intent(cases),
        "confusion": confusion_matrix(cases),
        "latency_ms": latency_summary(cases),
        "thresholds": thresholds,
        "below_thresholds": below_thresholds(groups, thresholds),
        "cases": [c.as_json() for c in cases],
    }
    if previous is not None:
        report["comparison"] = compare_reports(report, previous)
    return report


def write_report(
    report: dict[str, Any], directory: Path, *, render: Callable[[dict[str, Any]], str] | None = None
) -> tuple[Path, Path]:
    """Write `report.json` and `report.html` (by `render`, the answer runs' page by default) into
    `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / "report.json", directory / "report.html"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    html_path.write_text((render or render_html)(report), encoding="utf-8")
    return json_path, html_path


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;margin:0;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.meta{color:#5b6472;font-size:13px}
.verdict{display:inline-block;padding:4px 12px;border-radius:14px;font-weight:600;margin:10px 0}
.ok{background:#dcf3e3;color:#17612f}
.bad{background:#fbe0e0;color:#8d1c1c}
table{border-collapse:collapse;background:#fff;font-size:13.5px;margin:6px 0}
th,td{border:1px solid #e1e4ea;padding:4px 9px;text-align:right}
th{background:#eef0f4;font-weight:600}
td.l,th.l{text-align:left}
td.below{background:#fbe0e0;color:#8d1c1c;font-weight:600}
.up{color:#17612f}
.down{color:#8d1c1c}
.muted{color:#8a93a1}
.case{background:#fff;border:1px solid #e1e4ea;border-left:4px solid #c62828;border-radius:4px}
.case{margin:8px 0;padding:8px 12px}
.case.pass{border-left-color:#2e7d32}
.case pre{white-space:pre-wrap;margin:4px 0;background:#f7f8fa;padding:6px 8px;border-radius:3px;font-size:13px}
.score{display:inline-block;font-size:12px;padding:1px 7px;border-radius:9px;margin:2px 3px 2px 0}
.score.f{background:#fbe0e0;color:#8d1c1c}
.score.p{background:#e3f1e6;color:#17612f}
.tag{font-size:11.5px;color:#5b6472;background:#eef0f4;border-radius:8px;padding:1px 6px;margin-left:4px}
summary{cursor:pointer;font-weight:600;margin:10px 0}
"""


def format_value(value: Any) -> str:
    """A metric or score as people read it: scores to 3 decimals, milliseconds to 1, "–" for none."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def number_cell(value: Any) -> str:
    return '<span class="muted">–</span>' if value is None else escape(format_value(value))


def _change(value: float | None, *, lower_is_better: bool = False) -> str:
    if value is None or value == 0:
        return '<span class="muted">0</span>' if value == 0 else ""
    better = (value < 0) if lower_is_better else (value > 0)
    return f'<span class="{"up" if better else "down"}">{value:+.3f}</span>'


def _limit(limit: float | dict[str, float] | None) -> str:
    return number_cell(None) if limit is None else escape(describe_limit(limit))


def verdict(report: dict[str, Any]) -> str:
    """All thresholds met, or which metric missed which."""
    below = report["below_thresholds"]
    if not below:
        return '<span class="verdict ok">All thresholds met</span>'
    missed = ", ".join(
        f"{f['group']}.{f['metric']} {format_value(f['value'])} "
        + (f"> {f['at_most']:g}" if "at_most" in f else f"< {f['minimum']:g}")
        for f in below
    )
    title = "Below threshold" if all("minimum" in f for f in below) else "Thresholds missed"
    return f'<span class="verdict bad">{title}: {escape(missed)}</span>'


def _metric_table(report: dict[str, Any]) -> str:
    groups: dict[str, dict[str, Any]] = report["groups"]
    names = list(groups["all"]) if "all" in groups else []
    limits = report["thresholds"].get("all", {})
    below = {(f["group"], f["metric"]) for f in report["below_thresholds"]}
    comparison = report.get("comparison", {}).get("metrics", {}).get("all", {})
    head = "".join(f"<th>{escape(g)}</th>" for g in groups)
    head += "<th>threshold (all)</th>" + ("<th>change (all)</th>" if comparison else "")
    rows = []
    for name in names:
        cells = []
        for group, table in groups.items():
            css = ' class="below"' if (group, name) in below else ""
            cells.append(f"<td{css}>{number_cell(table.get(name))}</td>")
        cells.append(f"<td>{_limit(limits.get(name))}</td>")
        if comparison:
            change = comparison.get(name, {}).get("change")
            cells.append(f"<td>{_change(change, lower_is_better=name.startswith(('latency', 'errors')))}</td>")
        rows.append(f'<tr><td class="l">{escape(name)}</td>{"".join(cells)}</tr>')
    return f'<table><tr><th class="l">metric</th>{head}</tr>{"".join(rows)}</table>'


def _sets_table(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(m)}</th>" for m in SET_LANGUAGE_METRICS)
    rows = [
        f'<tr><td class="l">{escape(name)}</td><td class="l">{escape(language)}</td>'
        + "".join(f"<td>{number_cell(values.get(m))}</td>" for m in SET_LANGUAGE_METRICS)
        + "</tr>"
        for name, languages in report.get("sets", {}).items()
        for language, values in languages.items()
    ]
    return f'<table><tr><th class="l">dataset</th><th class="l">language</th>{head}</tr>{"".join(rows)}</table>'


def _curve_tables(report: dict[str, Any]) -> str:
    """Per dataset: each decline threshold's false alarms and off-topic declines, per language."""
    tables = []
    for name, languages in report.get("scope_curves", {}).items():
        head = "".join(f'<th colspan="2">{escape(language)}</th>' for language in languages)
        sub = "<th>in-scope declined</th><th>off-topic declined</th>" * len(languages)
        thresholds = [point["threshold"] for point in next(iter(languages.values()))]
        rows = "".join(
            f"<tr><td>{threshold:.2f}</td>"
            + "".join(
                f"<td>{number_cell(points[i]['in_scope_declined'])}</td><td>{number_cell(points[i]['off_topic_declined'])}</td>"
                for points in languages.values()
            )
            + "</tr>"
            for i, threshold in enumerate(thresholds)
        )
        tables.append(
            f"<h3>{escape(name)}</h3><table><tr><th>threshold</th>{head}</tr><tr><th></th>{sub}</tr>{rows}</table>"
        )
    return "".join(tables) or "<p>No case carries the classifier's off-topic evidence (not the offline model).</p>"


def _intent_table(report: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><td class="l">{escape(intent)}</td><td>{m["support"]}</td><td>{m["predicted"]}</td>'
        f"<td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td><td>{m['f1']:.3f}</td></tr>"
        for intent, m in report["intents"].items()
    )
    return (
        '<table><tr><th class="l">intent</th><th>expected</th><th>classified</th><th>precision</th>'
        f"<th>recall</th><th>F1</th></tr>{rows}</table>"
    )


def _confusion_table(report: dict[str, Any]) -> str:
    confusion = report["confusion"]
    columns: list[str] = confusion["columns"]
    biggest = max((n for row in confusion["matrix"] for n in row), default=1) or 1
    head = "".join(f'<th title="{escape(c)}">{escape(c.replace("_", " "))}</th>' for c in columns)
    rows = []
    for label, row in zip(confusion["labels"], confusion["matrix"], strict=True):
        cells = []
        for column, count in zip(columns, row, strict=True):
            hue = "46,125,50" if column == label else "198,40,40"
            shade = f"background:rgba({hue},{0.12 + 0.6 * count / biggest:.2f})" if count else ""
            cells.append(f'<td style="{shade}">{count or ""}</td>')
        rows.append(f'<tr><th class="l">{escape(label)}</th>{"".join(cells)}</tr>')
    return (
        '<p class="meta">Rows: the intent a case expects. Columns: what the classifier said.</p>'
        f'<table><tr><th class="l">expected \\ classified</th>{head}</tr>{"".join(rows)}</table>'
    )


def _latency_chart(report: dict[str, Any], width: int = 720, height: int = 200) -> str:
    """A histogram of per-case latency as inline SVG."""
    values = [c["latency_ms"] for c in report["cases"] if c["error"] is None]
    if not values:
        return '<p class="muted">No latencies.</p>'
    top = max(values) or 1.0
    bins = 24
    counts = [0] * bins
    for value in values:
        counts[min(int(value / top * bins), bins - 1)] += 1
    tallest = max(counts)
    bar_width = (width - 50) / bins
    bars = []
    for i, count in enumerate(counts):
        bar_height = (height - 55) * count / tallest
        x, y = 40 + i * bar_width, height - 25 - bar_height
        low, high = top * i / bins, top * (i + 1) / bins
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width - 2:.1f}" height="{bar_height:.1f}" fill="#4a6fa5">'
            f"<title>{low:.0f}–{high:.0f} ms: {count} cases</title></rect>"
        )
    axis = "".join(
        f'<text x="{40 + (width - 50) * f:.0f}" y="{height - 8}" font-size="11" text-anchor="{anchor}">'
        f"{top * f:.0f} ms</text>"
        for f, anchor in ((0, "start"), (0.25, "middle"), (0.5, "middle"), (0.75, "middle"), (1, "end"))
    )
    summary = report["latency_ms"]
    caption = " · ".join(f"{k} {v:.1f} ms" for k, v in summary.items())
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="latency histogram" '
        f'style="background:#fff;border:1px solid #e1e4ea">'
        f'<text x="6" y="13" font-size="11">cases</text><text x="34" y="{height - 27}" font-size="11" '
        f'text-anchor="end">0</text><text x="34" y="34" font-size="11" text-anchor="end">{tallest}</text>'
        f'{"".join(bars)}{axis}</svg><p class="meta">Time to answer the scored turn. {caption}</p>'
    )


def _case(case: dict[str, Any]) -> str:
    status = "pass" if case["passed"] else "fail"
    scores = "".join(
        f'<span class="score {"p" if score_passes(s["score"]) else "f"}" title="{escape(str(s.get("comment", "")))}">'
        f"{escape(s['key'])} {number_cell(s['score'])}</span>"
        for s in case["scores"]
    )
    failing = "".join(
        f"<li>{escape(s['key'])}: {escape(str(s.get('comment', '')))}</li>"
        for s in case["scores"]
        if not score_passes(s["score"])
    )
    if case["error"]:
        failing += f"<li>error: {escape(case['error'])}</li>"
    inputs = case["inputs"]
    turns = "\n".join(f"› {m}" for m in inputs["messages"])
    answer = case["outputs"].get("answer", "")
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in case["tags"])
    outputs = case["outputs"]
    route = " → ".join(outputs.get("steps", []))
    return (
        f'<div class="case {status}"><b>{escape(case["id"])}</b>{tags} '
        f'<span class="meta">{escape(inputs["channel"])} · {escape(inputs["user"])} · '
        f"{case['latency_ms']:.1f} ms · {escape(route)}</span>"
        f"<div>{scores}</div>{f'<ul>{failing}</ul>' if failing else ''}"
        f"<pre>{escape(turns)}</pre><pre>{escape(answer)}</pre></div>"
    )


def comparison_section(report: dict[str, Any]) -> str:
    comparison = report.get("comparison")
    if not comparison:
        return ""
    rows = "".join(
        f'<tr><td class="l">{escape(f["id"])}</td><td>{f["was"]}</td><td>{f["now"]}</td>'
        f'<td class="l">{escape(", ".join(f["scores"]))}</td></tr>'
        for f in comparison["flipped"]
    )
    previous = comparison["previous"]
    extra = ""
    if comparison["added"] or comparison["removed"]:
        extra = f'<p class="meta">{len(comparison["added"])} cases new, {len(comparison["removed"])} gone.</p>'
    table = (
        '<table><tr><th class="l">case</th><th>was</th><th>now</th><th class="l">scores that decided</th></tr>'
        f"{rows}</table>"
        if rows
        else "<p>No case changed between pass and fail.</p>"
    )
    return (
        f"<h2>Compared with the run of {escape(str(previous.get('started_at')))} "
        f"({escape(str(previous.get('model')))})</h2>{extra}{table}"
    )


def render_html(report: dict[str, Any]) -> str:
    failures = [c for c in report["cases"] if not c["passed"]]
    passes = [c for c in report["cases"] if c["passed"]]
    all_metrics = report["groups"].get("all", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>carebot eval · {escape(str(report.get("dataset")))}</title><style>{CSS}</style></head>
<body><main>
<h1>carebot evaluation</h1>
<div class="meta">{escape(str(report.get("dataset")))} · model {escape(str(report.get("model")))} ·
{escape(str(report.get("started_at")))} · seed {escape(str(report.get("seed")))} ·
{all_metrics.get("cases", 0)} cases, {len(failures)} failing</div>
{verdict(report)}
<h2>Metrics</h2>
<p class="meta">Each column is a group of cases: <b>heldout</b> cases were never used to build or tune the
offline classifier; <b>dev</b> is the rest.</p>
{_metric_table(report)}
{comparison_section(report)}
<h2>Per dataset and language</h2>
<p class="meta"><b>out_of_scope_declined</b>: off-topic requests the bot did not answer (read as out of scope,
handed over, or asked which topic), <b>off_topic_asked</b> the share of them asked which topic;
<b>out_of_scope_false_alarm</b>: shop questions it declined as out of scope, <b>in_scope_asked</b> the share
asked which topic.</p>
{_sets_table(report)}
<h2>Out-of-scope threshold: trade-off</h2>
<p class="meta">For each decline threshold on the classifier's off-topic evidence: the share of shop questions
it would decline (false alarms) and of off-topic requests (the rest are asked which topic, or answered). The
threshold the model uses was chosen at training time on its training examples, each read by a fit without it, at least
cost (<code>carebot/models/scope.py</code>), never on these sets.</p>
{_curve_tables(report)}
<h2>Intents</h2>
{_intent_table(report)}
<h2>Confusion matrix</h2>
{_confusion_table(report)}
<h2>Latency</h2>
{_latency_chart(report)}
<h2>Failing cases ({len(failures)})</h2>
{"".join(_case(c) for c in failures) or "<p>None.</p>"}
<details><summary>Passing cases ({len(passes)})</summary>{"".join(_case(c) for c in passes)}</details>
</main></body></html>
"""
