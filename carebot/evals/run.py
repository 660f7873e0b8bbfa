"""One `carebot eval` run, from options to report: read and check everything before the agent
opens, run the cases (and, with `--langsmith`, the LangSmith experiment; with `--shop`, one at a
time against a shop of their own), meter the CPU, build and write the report, decide the exit
code. The command line only parses, prints and exits."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carebot.evals.action_report import REPORT_KIND, build_action_report, render_action_html
from carebot.evals.action_runner import ShopClashError, run_shop_cases
from carebot.evals.compare import ReportError, load_report
from carebot.evals.dataset import DatasetError, EvalCase, load_dataset
from carebot.evals.eval_shop import EvalShop, load_eval_shop
from carebot.evals.evaluators import AsyncEvaluator, correctness_judge
from carebot.evals.metrics import SET_TAG_PREFIX, CaseResult
from carebot.evals.report import build_report, write_report
from carebot.evals.runner import run_cases, sample_cases
from carebot.evals.thresholds import ThresholdError, Thresholds, failure_line, load_thresholds
from carebot.models.factory import ModelConfigError, build_chat_model
from carebot.shop.importer import ShopFileError
from carebot.shop.policy import PolicyFileError
from carebot.shop.store import ShopStore

if TYPE_CHECKING:
    from carebot.db.pool import Pool
    from carebot.settings import Settings
    from carebot.shop.actions import ShopActions
    from carebot.turns import TurnRunner

# `progress(total)` shows progress over `total` cases while open and gives the function that
# moves it one case on.
ProgressDisplay = Callable[[int], AbstractContextManager[Callable[[], None]]]


class EvalSetupError(Exception):
    """The run cannot start: a dataset, the thresholds file, the earlier report or the shop cannot
    be read, no case is left to run, LangSmith has no key, the judge cannot be built, or the
    shop's data would overwrite the database's own."""


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """What `carebot eval` was asked to do."""

    datasets: list[Path]
    """JSONL datasets, in order; a case id may appear in only one."""
    report_dir: Path | None = None
    """Where report.json and report.html go (none: not written)."""
    compare: Path | None = None
    """An earlier report (its directory or report.json) to compare with."""
    thresholds: Path = Path("evals/thresholds.toml")
    """Minimum scores; the run fails below any."""
    concurrency: int = 4
    """Cases run at once."""
    sample: int | None = None
    """Run only this many cases, picked with `seed`."""
    seed: int = 7
    tags: list[str] = field(default_factory=list)
    """Only cases with any of these tags (none: every case)."""
    langsmith: bool = False
    """Also sync the datasets to LangSmith and run them as an experiment."""
    shop: Path | None = None
    """A shop of the run's own (its files, `meta.json` and `policy.toml`): the cases run one at a
    time against it, under its policy, and are scored on what they change (their `end_state`)."""


@dataclass(frozen=True, kw_only=True)
class EvalRun:
    """A run ready to start: everything read and checked before the agent opens."""

    options: EvalOptions
    every_case: list[EvalCase]
    """Every case of the datasets (what LangSmith keeps in step)."""
    cases: list[EvalCase]
    """The cases this run sends through the agent (after --tag and --sample)."""
    thresholds: Thresholds
    previous: dict[str, Any] | None
    """The earlier report to compare with."""
    judge_model: str | None
    judge: AsyncEvaluator | None
    shop: EvalShop | None
    """The shop the cases act on (`--shop`), read and checked."""
    started_at: str
    run_id: str

    @property
    def turns(self) -> int:
        """Customer messages the run sends."""
        return sum(len(c.inputs.messages) for c in self.cases)


@dataclass(frozen=True, kw_only=True)
class Agent:
    """What of the opened agent a run uses."""

    turns: TurnRunner
    pool: Pool
    shop_actions: ShopActions | None
    """What the graph acts on orders with (a `--shop` run checks it is under the shop's policy)."""
    model: str
    """The models that answer, as the agent describes them."""


@dataclass(frozen=True, kw_only=True)
class EvalOutcome:
    """What running the cases gave."""

    results: list[CaseResult]
    model: str
    """The models that answered, as the agent describes them."""
    cpu_seconds: float
    """This process's CPU over the local run (the graph, the models, the database client; not
    the database server): divided by the turns, what one more turn costs the machine."""


def set_name(path: Path) -> str:
    """The dataset's name in reports: its file name without version and extension."""
    return path.name.split(".")[0]


def load_cases(paths: list[Path]) -> list[EvalCase]:
    """Every case of the datasets, each tagged with its dataset's name; an id used twice is an error."""
    cases: list[EvalCase] = []
    seen: dict[str, Path] = {}
    for path in paths:
        for case in load_dataset(path):
            if case.id in seen:
                raise DatasetError(f"{path}: id: {case.id!r} is also in {seen[case.id]}")
            seen[case.id] = path
            cases.append(case.model_copy(update={"tags": [*case.tags, f"{SET_TAG_PREFIX}{set_name(path)}"]}))
    return cases


def pick_judge(settings: Settings) -> AsyncEvaluator | None:
    """The correctness judge when JUDGE_MODEL names one; without it answers are scored by overlap."""
    if not settings.judge_model:
        return None
    try:
        return correctness_judge(build_chat_model(settings.judge_model, settings))
    except ModelConfigError as exc:
        raise EvalSetupError(f"JUDGE_MODEL: {exc}") from None


def prepare_shop(options: EvalOptions, cases: list[EvalCase]) -> EvalShop | None:
    """The `--shop` to act on, read and checked against the cases: every case of a shop run says
    what it must change (`end_state`), and only a shop run can check that."""
    if options.shop is None:
        if acting := [c.id for c in cases if c.reference_outputs.end_state is not None]:
            raise EvalSetupError(f"{acting[0]}: a case with an end_state runs against a shop: add --shop DIR.")
        return None
    if options.langsmith:
        raise EvalSetupError("--langsmith runs cases at once; a --shop run's cases share the shop, one at a time.")
    if missing := [c.id for c in cases if c.reference_outputs.end_state is None]:
        raise EvalSetupError(f"{missing[0]}: no end_state; every case of a --shop run says what it changes.")
    try:
        return load_eval_shop(options.shop)
    except (ShopFileError, PolicyFileError) as exc:
        raise EvalSetupError(str(exc)) from None


def run_settings(run: EvalRun, settings: Settings) -> Settings:
    """The settings to open the agent with: under the shop's policy file for a `--shop` run."""
    return settings if run.shop is None else settings.model_copy(update={"policy_file": run.shop.policy_path})


def prepare_run(options: EvalOptions, settings: Settings) -> EvalRun:
    """Read the datasets, thresholds and earlier report, pick the cases and the judge; raises
    `EvalSetupError` when the run cannot start."""
    try:
        every_case = load_cases(options.datasets)
        tags = set(options.tags)
        chosen = [c for c in every_case if not tags or tags & set(c.tags)]
        cases = sample_cases(chosen, options.sample, seed=options.seed)
        thresholds = load_thresholds(options.thresholds)
        previous = load_report(options.compare) if options.compare else None
    except (DatasetError, ThresholdError, ReportError) as exc:
        raise EvalSetupError(str(exc)) from None
    if not cases:
        raise EvalSetupError("No cases to run (check --tag).")
    shop = prepare_shop(options, cases)
    if options.langsmith and not (os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY")):
        raise EvalSetupError(
            "--langsmith needs LANGSMITH_API_KEY (and LANGSMITH_ENDPOINT for a self-hosted LangSmith)."
        )
    return EvalRun(
        options=options,
        every_case=every_case,
        cases=cases,
        thresholds=thresholds,
        previous=previous,
        judge_model=settings.judge_model,
        judge=pick_judge(settings),
        shop=shop,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_id=uuid.uuid4().hex[:12],
    )


def langsmith_dataset_name(paths: list[Path]) -> str:
    """The LangSmith dataset name: `carebot-` and the file names (their version included)."""
    return "carebot-" + "+".join(p.name.removesuffix(".jsonl") for p in paths)


async def run_langsmith_experiment(run: EvalRun, turns: TurnRunner, *, model: str) -> str:
    """Sync every case to LangSmith and run this run's cases there as an experiment; its name."""
    from carebot.evals.langsmith_sync import run_experiment  # langsmith loads only for --langsmith

    return await run_experiment(
        turns,
        run.every_case,
        model=model,
        dataset_name=langsmith_dataset_name(run.options.datasets),
        run=[c.id for c in run.cases],
        judge=run.judge,
        concurrency=run.options.concurrency,
    )


def check_shop_policy(run: EvalRun, agent: Agent) -> None:
    """The agent acts under the shop's own policy file (it was opened with `run_settings`), or
    the run would score another shop's rules."""
    assert run.shop is not None
    actions = agent.shop_actions
    if not (isinstance(actions, ShopStore) and actions.policy == run.shop.policy):
        raise EvalSetupError(f"The agent's shop actions are not under {run.shop.policy_path} (POLICY_FILE).")


async def run_metered(run: EvalRun, agent: Agent, *, on_result: Callable[[], None]) -> tuple[list[CaseResult], float]:
    """Run and score the cases (a shop run's one at a time, on the reset shop); their results
    and the CPU seconds this process spent on them."""
    cpu_started = time.process_time()
    if run.shop is None:
        results = await run_cases(
            agent.turns,
            run.cases,
            run_id=run.run_id,
            concurrency=run.options.concurrency,
            judge=run.judge,
            on_result=lambda _: on_result(),
        )
    else:
        check_shop_policy(run, agent)
        try:
            results = await run_shop_cases(
                agent.turns,
                run.cases,
                run.shop,
                agent.pool,
                run_id=run.run_id,
                judge=run.judge,
                on_result=lambda _: on_result(),
            )
        except ShopClashError as exc:
            raise EvalSetupError(str(exc)) from None
    return results, time.process_time() - cpu_started


async def execute(run: EvalRun, agent: Agent, *, progress: ProgressDisplay, note: Callable[[str], None]) -> EvalOutcome:
    """The LangSmith experiment when asked for (then `note` tells its name), then the local run
    with `progress` open over it. Raises `EvalSetupError` when a shop run cannot start."""
    if run.options.langsmith:
        name = await run_langsmith_experiment(run, agent.turns, model=agent.model)
        note(f"LangSmith experiment {name} done.")
    with progress(len(run.cases)) as advance:
        results, cpu_seconds = await run_metered(run, agent, on_result=advance)
    return EvalOutcome(results=results, model=agent.model, cpu_seconds=cpu_seconds)


def fingerprint(paths: list[Path]) -> str:
    """A short hash of the datasets' bytes: two reports ran the same cases when theirs agree."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def describe(run: EvalRun, outcome: EvalOutcome) -> dict[str, Any]:
    """What the report says about the run itself."""
    options = run.options
    about = {
        "dataset": ", ".join(str(p) for p in options.datasets),
        "dataset_fingerprint": fingerprint(options.datasets),
        "model": outcome.model,
        "answer_scoring": f"correctness, judged by {run.judge_model}" if run.judge_model else "answer_overlap",
        "started_at": run.started_at,
        "run_id": run.run_id,
        "seed": options.seed,
        "sample": options.sample,
        "tags": options.tags,
        "concurrency": options.concurrency,
        "cpu_ms_per_turn": round(outcome.cpu_seconds * 1000 / max(run.turns, 1), 1),
    }
    if run.shop is not None:  # its cases share the shop: one at a time
        about.update(shop=str(run.shop.folder), concurrency=1)
    return about


def run_report(run: EvalRun, outcome: EvalOutcome) -> dict[str, Any]:
    """The run's report: metrics, thresholds missed and, with --compare, what changed."""
    build = build_report if run.shop is None else build_action_report
    return build(outcome.results, about=describe(run, outcome), thresholds=run.thresholds, previous=run.previous)


def write_reports(run: EvalRun, report: dict[str, Any]) -> tuple[Path, Path] | None:
    """report.json and report.html in the --report directory (none given: nothing written)."""
    if run.options.report_dir is None:
        return None
    render = render_action_html if report.get("kind") == REPORT_KIND else None
    return write_report(report, run.options.report_dir, render=render)


def threshold_failures(report: dict[str, Any]) -> list[str]:
    """One line per metric on the wrong side of its threshold."""
    return [failure_line(f) for f in report["below_thresholds"]]


def exit_code(report: dict[str, Any]) -> int:
    """1 when a metric misses its threshold, else 0 (a run that cannot start exits 2)."""
    return 1 if report["below_thresholds"] else 0
