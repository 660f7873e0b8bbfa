"""`carebot eval`: run golden datasets through the agent, score them, report, compare; with
`--shop`, run action conversations against a shop of their own and score what they changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carebot.cli.common import console, errors, say, with_components
from carebot.evals.metrics import SET_LANGUAGE_METRICS
from carebot.evals.report import format_value
from carebot.settings import get_settings

if TYPE_CHECKING:
    from carebot.composition import Components
    from carebot.evals.run import EvalOptions


def _fail(message: str) -> typer.Exit:
    errors.print(message, markup=False, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar over `total` cases while open; yields what moves it one case on."""
    with Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("cases", total=total)
        yield lambda: progress.advance(task)


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


# An action run's figures per group (rows): the ones its thresholds gate, then errors. Headings
# in two lines: the table must fit an 80-column terminal.
_ACTION_COLUMNS = {
    "cases": "cases",
    "task_success": "task\nsuccess",
    "pass_k": "pass^k",
    "unconfirmed_writes": "unconf.\nwrites",
    "foreign_writes": "foreign\nwrites",
    "errors": "errors",
}


def _actions_table(report: dict[str, Any]) -> Table:
    groups: dict[str, dict[str, Any]] = report["groups"]
    k = groups.get("all", {}).get("k")
    table = Table(title=f"carebot eval: actions (pass^k: all k = {k} phrasings of a task)", title_justify="left")
    table.add_column("group", no_wrap=True)
    for heading in _ACTION_COLUMNS.values():
        table.add_column(heading, justify="right")
    below = {(f["group"], f["metric"]) for f in report["below_thresholds"]}
    for group, values in groups.items():
        cells = []
        for name in _ACTION_COLUMNS:
            text = format_value(values.get(name))
            cells.append(f"[red]{text}[/red]" if (group, name) in below else text)
        table.add_row(group, *cells)
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
    shop: Annotated[
        Path | None,
        typer.Option(
            "--shop",
            help="A shop of the run's own (files, meta.json, policy.toml): cases act on it one at a time,"
            " scored by what they change.",
        ),
    ] = None,
) -> None:
    """Run evaluation datasets through the agent; print a summary, write reports, check thresholds.

    Exits 1 when a metric misses its threshold in the thresholds file, 2 when a dataset,
    thresholds file, earlier report or shop cannot be read (or the shop's data would overwrite
    the database's own).
    """
    # The agent's libraries load here, not for `carebot --help`.
    from carebot.evals.run import EvalOptions

    options = EvalOptions(
        datasets=dataset,
        report_dir=report_dir,
        compare=compare,
        thresholds=thresholds_path,
        concurrency=concurrency,
        sample=sample,
        seed=seed,
        tags=tags,
        langsmith=langsmith,
        shop=shop,
    )
    code = _run(options)
    if code:
        raise typer.Exit(code)


def _run(options: EvalOptions) -> int:
    """Prepare, run and report; the exit code."""
    from carebot.evals import run as evals

    settings = get_settings()
    try:
        run = evals.prepare_run(options, settings)
    except evals.EvalSetupError as exc:
        raise _fail(str(exc)) from None

    async def in_agent(components: Components) -> evals.EvalOutcome:
        agent = evals.Agent(
            turns=components.turns,
            pool=components.pool,
            shop_actions=(await components.shops.current()).actions,  # the CLI's tenant's own
            model=components.models.description,
        )
        return await evals.execute(run, agent, progress=_progress_bar, note=say)

    try:
        outcome = with_components(in_agent, settings=evals.run_settings(run, settings))
    except evals.EvalSetupError as exc:
        raise _fail(str(exc)) from None
    report = evals.run_report(run, outcome)
    if run.shop is None:
        console.print(_summary_table(report))
        console.print(_sets_table(report))
    else:
        console.print(_actions_table(report))
    say(f"CPU per turn: {report['cpu_ms_per_turn']} ms ({run.turns} turns; this process, scoring included)")
    _print_comparison(report)
    written = evals.write_reports(run, report)
    if written is not None:
        say(f"Wrote {written[0]} and {written[1]}")
    for failure in evals.threshold_failures(report):
        errors.print(failure, markup=False, soft_wrap=True)
    return evals.exit_code(report)
