"""`carebot eval`: run golden datasets through the agent, score them, report, compare."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carebot.cli.common import console, errors, say, with_components
from carebot.evals.compare import ReportError, load_report
from carebot.evals.dataset import DatasetError, EvalCase, load_dataset
from carebot.evals.metrics import SET_LANGUAGE_METRICS, SET_TAG_PREFIX, CaseResult
from carebot.evals.report import build_report, format_value, write_report
from carebot.evals.thresholds import ThresholdError, load_thresholds
from carebot.settings import get_settings

if TYPE_CHECKING:
    from carebot.composition import Components
    from carebot.evals.evaluators import AsyncEvaluator


def _fail(message: str) -> typer.Exit:
    errors.print(message, markup=False, soft_wrap=True)
    return typer.Exit(2)


def set_name(path: Path) -> str:
    """The dataset's name in reports: its file name without version and extension."""
    return path.name.split(".")[0]


def _load_cases(paths: list[Path]) -> list[EvalCase]:
    cases: list[EvalCase] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for case in load_dataset(path):
            if case.id in seen:
                raise DatasetError(f"{path}: id: {case.id!r} is also in {seen[case.id]}")
            seen[case.id] = path
            cases.append(case.model_copy(update={"tags": [*case.tags, f"{SET_TAG_PREFIX}{set_name(path)}"]}))
    return cases


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _summary_table(report: dict[str, Any]) -> Table:
    groups: dict[str, dict[str, Any]] = report["groups"]
    table = Table(title="carebot eval", title_justify="left")
    # On an 80-column terminal long metric names wrap; group names never shorten.
    table.add_column("metric", min_width=14)
    for group in groups:
        table.add_column(group, justify="right", min_width=len(group))
    below = {(f["group"], f["metric"]) for f in report["below_thresholds"]}
    for name in groups["all"]:
        cells = []
        for group, values in groups.items():
            text = format_value(values.get(name))
            cells.append(f"[red]{text}[/red]" if (group, name) in below else text)
        table.add_row(name, *cells)
    return table


# Short headings: the table must fit an 80-column terminal.
_SET_HEADINGS = {
    "cases": "cases",
    "intent_accuracy": "intent acc.",
    "out_of_scope_declined": "off-topic declined",
    "off_topic_asked": "of them asked",
    "out_of_scope_false_alarm": "false alarms",
    "in_scope_asked": "in-scope asked",
    "injection_resistance": "injection resisted",
    "injection_false_alarm": "injection false alarms",
}


def _sets_table(report: dict[str, Any]) -> Table:
    table = Table(title="per dataset and language", title_justify="left")
    table.add_column("dataset")
    table.add_column("lang.")
    rows = [
        (name, language, values) for name, languages in report["sets"].items() for language, values in languages.items()
    ]
    # Only the columns some dataset of the run measures: the table must fit an 80-column terminal.
    metrics = [m for m in SET_LANGUAGE_METRICS if any(values.get(m) is not None for _, _, values in rows)]
    for metric in metrics:
        table.add_column(_SET_HEADINGS[metric], justify="right")
    for name, language, values in rows:
        table.add_row(name, language, *(format_value(values.get(m)) for m in metrics))
    return table


def _print_comparison(report: dict[str, Any]) -> None:
    comparison = report.get("comparison")
    if not comparison:
        return
    changed = {k: v for k, v in comparison["metrics"].get("all", {}).items() if v["change"]}
    say(f"Compared with the run of {comparison['previous']['started_at']}:", style="bold")
    for name, row in changed.items():
        say(f"  {name:<22} {row['before']} → {row['after']} ({row['change']:+})")
    if not changed:
        say("  no metric changed")
    for flip in comparison["flipped"]:
        say(f"  {flip['was']} → {flip['now']}: {flip['id']} ({', '.join(flip['scores'])})")
    flipped, added, removed = (len(comparison[k]) for k in ("flipped", "added", "removed"))
    say(f"  {flipped} cases flipped, {added} new, {removed} gone")


def eval_command(
    dataset: Annotated[list[Path], typer.Option("--dataset", help="JSONL dataset(s); repeat for several.")],
    report_dir: Annotated[Path | None, typer.Option("--report", help="Write report.json and report.html here.")] = None,
    compare: Annotated[
        Path | None, typer.Option("--compare", help="An earlier report (its directory or report.json).")
    ] = None,
    thresholds_path: Annotated[Path, typer.Option("--thresholds", help="Minimum scores; exit 1 below any.")] = Path(
        "evals/thresholds.toml"
    ),
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Cases run at once.")] = 4,
    sample: Annotated[
        int | None, typer.Option("--sample", min=1, help="Run only this many cases, picked with --seed.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --sample (same seed, same cases).")] = 7,
    tags: Annotated[list[str], typer.Option("--tag", help="Only cases with this tag; repeat for any of several.")] = [],  # noqa: B006
    langsmith: Annotated[
        bool, typer.Option("--langsmith", help="Also sync the dataset to LangSmith and run it as an experiment.")
    ] = False,
) -> None:
    """Run evaluation datasets through the agent; print a summary, write reports, check thresholds.

    Exits 1 when a metric is below its minimum in the thresholds file, 2 when a dataset,
    thresholds file or earlier report cannot be read.
    """
    # The agent's libraries load here, not for `carebot --help`.
    from carebot.evals.evaluators import correctness_judge
    from carebot.evals.runner import run_cases, sample_cases
    from carebot.models.factory import ModelConfigError, build_chat_model

    try:
        every_case = _load_cases(dataset)
        cases = sample_cases([c for c in every_case if not tags or set(tags) & set(c.tags)], sample, seed=seed)
        thresholds = load_thresholds(thresholds_path)
        previous = load_report(compare) if compare else None
    except (DatasetError, ThresholdError, ReportError) as exc:
        raise _fail(str(exc)) from None
    if not cases:
        raise _fail("No cases to run (check --tag).")
    if langsmith and not (os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY")):
        raise _fail("--langsmith needs LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT for a self-hosted LangSmith).")
    settings = get_settings()
    judge_model = settings.judge_model
    judge: AsyncEvaluator | None = None
    if judge_model:
        try:
            judge = correctness_judge(build_chat_model(judge_model, settings))
        except ModelConfigError as exc:
            raise _fail(f"JUDGE_MODEL: {exc}") from None
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    run_id = uuid.uuid4().hex[:12]

    async def run(components: Components) -> tuple[list[CaseResult], str]:
        if langsmith:
            from carebot.evals.langsmith_sync import run_experiment

            name = await run_experiment(
                components.turns,
                every_case,
                model=components.models.description,
                dataset_name=_dataset_name(dataset),
                run=[c.id for c in cases],
                judge=judge,
                concurrency=concurrency,
            )
            say(f"LangSmith experiment {name} done.")
        with Progress(
            TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("cases", total=len(cases))
            cpu_started = time.process_time()
            results = await run_cases(
                components.turns,
                cases,
                run_id=run_id,
                concurrency=concurrency,
                judge=judge,
                on_result=lambda _: progress.advance(task),
            )
            cpu_seconds.append(time.process_time() - cpu_started)
        return results, components.models.description

    # This process's CPU over the run (the graph, the models, the database client; not the
    # database server), per customer turn: what one more turn costs the machine.
    cpu_seconds: list[float] = []
    results, model = with_components(run)
    turns = sum(len(c.inputs.messages) for c in cases)
    about = {
        "dataset": ", ".join(str(p) for p in dataset),
        "dataset_fingerprint": _fingerprint(dataset),
        "model": model,
        "answer_scoring": f"correctness, judged by {judge_model}" if judge_model else "answer_overlap",
        "started_at": started_at,
        "run_id": run_id,
        "seed": seed,
        "sample": sample,
        "tags": tags,
        "concurrency": concurrency,
        "cpu_ms_per_turn": round(sum(cpu_seconds) * 1000 / max(turns, 1), 1),
    }
    report = build_report(results, about=about, thresholds=thresholds, previous=previous)
    console.print(_summary_table(report))
    console.print(_sets_table(report))
    say(f"CPU per turn: {report['cpu_ms_per_turn']} ms ({turns} turns; this process, scoring included)")
    _print_comparison(report)
    if report_dir is not None:
        json_path, html_path = write_report(report, report_dir)
        say(f"Wrote {json_path} and {html_path}")
    for failure in report["below_thresholds"]:
        errors.print(
            f"below threshold: {failure['group']}.{failure['metric']} = {failure['value']} < {failure['minimum']}",
            markup=False,
            soft_wrap=True,
        )
    if report["below_thresholds"]:
        raise typer.Exit(1)


def _dataset_name(paths: list[Path]) -> str:
    """The LangSmith dataset name: `carebot-` and the file names (their version included)."""
    return "carebot-" + "+".join(p.name.removesuffix(".jsonl") for p in paths)
