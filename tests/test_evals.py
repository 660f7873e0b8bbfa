"""The evaluation suite: datasets, evaluators, metrics, the runner on the real agent, the
`carebot eval` command, its reports, and the LangSmith path against a local stand-in."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from carebot.composition import Components
from carebot.domain import INTENTS
from carebot.evals.compare import compare_reports
from carebot.evals.dataset import DatasetError, json_schema, load_dataset
from carebot.evals.evaluators import (
    answer_overlap,
    correctness_judge,
    failed_scores,
    must_not_include,
    score_case,
    source_hit,
    tool_calls_match,
)
from carebot.evals.metrics import (
    CaseResult,
    group_metrics,
    metric_table,
    per_intent,
    scope_curves,
    set_language_metrics,
)
from carebot.evals.runner import run_cases
from carebot.evals.thresholds import ThresholdError, below_thresholds, every_metric, load_thresholds
from carebot.models.factory import build_chat_model
from carebot.models.text_models import TRAINING_FILES
from carebot.settings import Settings
from tests.conftest import BIN, REPO
from tests.fake_langsmith import FakeLangSmith
from tests.loopback import LoopbackServer, Recorded

DATASETS = REPO / "evals" / "datasets"
GOLDEN = DATASETS / "golden.v1.jsonl"
CUSTOMER_SETS = [DATASETS / f"{name}.v1.jsonl" for name in ("customers", "out_of_scope", "lookalike")]
THRESHOLDS = REPO / "evals" / "thresholds.toml"


def row(case_id: str, messages: list[str], **reference: Any) -> dict[str, Any]:
    return {"id": case_id, "inputs": {"messages": messages}, "reference_outputs": reference, "tags": []}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# ---------- datasets ----------


def test_validator_names_the_line_and_the_field(tmp_path: Path) -> None:
    good = row("a", ["hi"], intent="greeting")
    bad_intent = row("b", ["hi"], intent="smalltalk")
    path = write_jsonl(tmp_path / "d.jsonl", [good, good | {"id": "c"}, bad_intent])
    with pytest.raises(DatasetError, match=r"d\.jsonl:3: reference_outputs\.intent: "):
        load_dataset(path)
    no_messages = {"id": "x", "inputs": {"messages": []}}
    with pytest.raises(DatasetError, match=r":1: inputs\.messages: "):
        load_dataset(write_jsonl(tmp_path / "e.jsonl", [no_messages]))
    with pytest.raises(DatasetError, match=r":2: id: 'a' already used on line 1"):
        load_dataset(write_jsonl(tmp_path / "f.jsonl", [good, good]))
    (tmp_path / "g.jsonl").write_text('{"id": "a", "inputs": {"messages": ["hi"]}}\n{"id": oops}\n')
    with pytest.raises(DatasetError, match=r"g\.jsonl:2: not JSON"):
        load_dataset(tmp_path / "g.jsonl")


def test_schema_file_is_the_validators_format() -> None:
    assert json.loads((REPO / "evals" / "schema.json").read_text()) == json_schema()


def test_golden_set_covers_what_qa_relies_on() -> None:
    cases = load_dataset(GOLDEN)
    tags = Counter(tag for case in cases for tag in case.tags)
    languages = Counter(case.reference_outputs.language for case in cases)
    assert len(cases) >= 300
    assert languages["id"] >= 60 and languages["es"] >= 60
    assert sum(len(case.inputs.messages) > 1 for case in cases) >= 30
    for split in ([c for c in cases if "heldout" in c.tags], [c for c in cases if "heldout" not in c.tags]):
        assert {c.reference_outputs.intent for c in split} >= set(INTENTS)
    # Every escalation trigger a dataset can provoke on the demo shop, injections, other
    # customers' orders, and the ways people really write.
    for tag in ("human_requested", "out_of_scope", "negative_sentiment", "low_relevance", "verification_failed"):
        assert tags[tag] >= 1, tag
    for tag in ("injection", "privacy", "typo", "slang", "mixed", "kb", "order_change", "verification"):
        assert tags[tag] >= 3, tag
    routes = {call.name for case in cases for call in case.reference_outputs.tool_calls or []}
    assert routes == {"lookup_order", "retrieve", "verify_customer", "gather_action"}
    for case in cases:
        for source in case.reference_outputs.sources or []:
            assert (REPO / "carebot" / source).is_file(), (case.id, source)  # named inside the package
        if "kb" in case.tags and len(case.inputs.messages) == 1:
            assert case.reference_outputs.sources, case.id


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def test_held_out_cases_were_never_training_examples_of_the_offline_classifier() -> None:
    """Dev cases may share everyday phrases ("where is my order?") with the training data;
    a held-out case's scored message may not."""
    data = REPO / "carebot" / "models" / "data"
    trained = {
        _normalised(json.loads(line)["text"])
        for name in TRAINING_FILES
        for line in (data / name).read_text().splitlines()
        if line.strip()
    }
    held_out = [case for path in DATASETS.glob("*.jsonl") for case in load_dataset(path) if "heldout" in case.tags]
    assert len(held_out) >= 60 + len(CUSTOMER_SETS) * 70
    assert [case.id for case in held_out if _normalised(case.inputs.messages[-1]) in trained] == []


def test_customer_style_sets_are_large_enough_in_every_language() -> None:
    """Off-topic requests (at least 150), in-scope look-alikes, customer-style messages and
    retrieval paraphrases, each in English, Indonesian and Spanish, all held out."""
    sizes = {
        path.name: Counter(c.reference_outputs.language for c in load_dataset(path) if "heldout" in c.tags)
        for path in [*CUSTOMER_SETS, DATASETS / "retrieval_paraphrase.v1.jsonl"]
    }
    assert sum(sizes["out_of_scope.v1.jsonl"].values()) >= 150
    for name, per_language in sizes.items():
        assert min(per_language[language] for language in ("en", "id", "es")) >= 25, (name, per_language)


# ---------- evaluators ----------

LOOKUP_A1004 = {"name": "lookup_order", "args": {"order_number": "A1004"}}


def test_tool_calls_match_names_exactly_and_args_as_a_subset() -> None:
    def score(expected: list[dict[str, Any]], used: list[dict[str, Any]]) -> Any:
        return tool_calls_match(inputs={}, outputs={"tool_calls": used}, reference_outputs={"tool_calls": expected})

    assert score([{"name": "lookup_order", "args": {"order_number": "a1004"}}], [LOOKUP_A1004])["score"] is True
    assert score([{"name": "lookup_order"}], [LOOKUP_A1004])["score"] is True
    wrong_number = score([{"name": "lookup_order", "args": {"order_number": "A1005"}}], [LOOKUP_A1004])
    assert wrong_number["score"] is False and "A1005" in wrong_number["comment"]
    extra_tool = score([{"name": "retrieve"}], [{"name": "retrieve", "args": {}}, LOOKUP_A1004])
    assert extra_tool["score"] is False
    assert score([], [])["score"] is True and score([], [LOOKUP_A1004])["score"] is False


def test_must_not_include_and_source_hit() -> None:
    leak = must_not_include(
        inputs={}, outputs={"answer": "Items: Matte steel KETTLE"}, reference_outputs={"must_not_include": ["kettle"]}
    )
    assert leak["score"] is False and "kettle" in leak["comment"]
    reference = {"sources": ["demo/help_centre/en/shipping.md"]}
    first = source_hit(inputs={}, outputs={"sources": ["demo/help_centre/en/shipping.md"]}, reference_outputs=reference)
    second = source_hit(
        inputs={},
        outputs={"sources": ["demo/help_centre/en/payments.md", "demo/help_centre/en/shipping.md"]},
        reference_outputs=reference,
    )
    assert first["score"] is True and second["score"] is False and "rank 2" in second["comment"]


def test_answer_overlap_rewards_the_facts_not_the_phrasing() -> None:
    reference = {"reference_answer": "Refunds arrive within 5 working days after the return reaches the warehouse."}
    right = answer_overlap(
        inputs={},
        outputs={"answer": "We refund within 5 working days once your return reaches our warehouse."},
        reference_outputs=reference,
    )
    wrong = answer_overlap(
        inputs={}, outputs={"answer": "Standard shipping is free over 50 USD."}, reference_outputs=reference
    )
    assert right["key"] == "answer_overlap" and right["score"] >= 0.7 and wrong["score"] <= 0.2  # type: ignore[operator]


async def test_a_case_is_scored_only_on_what_it_references_and_a_judge_replaces_overlap() -> None:
    outputs = {"answer": "Returns within 30 days.", "intent": "returns_refunds", "escalate": False}
    reference = {"intent": "returns_refunds", "reference_answer": "You can return items within 30 days."}
    keys = [
        s["key"] for s in await score_case(inputs={"messages": ["?"]}, outputs=outputs, reference_outputs=reference)
    ]
    assert keys == ["intent_match", "answer_overlap"]

    async def judge(*, inputs: Any, outputs: Any, reference_outputs: Any) -> Any:
        return {"key": "correctness", "score": True, "comment": "same facts"}

    judged = await score_case(inputs={"messages": ["?"]}, outputs=outputs, reference_outputs=reference, judge=judge)
    assert [s["key"] for s in judged] == ["intent_match", "correctness"]


# ---------- metrics, thresholds, comparison ----------


def result(case_id: str, expected: str, got: str, *, escalate: tuple[bool, bool] | None = None) -> CaseResult:
    reference: dict[str, Any] = {"intent": expected}
    outputs: dict[str, Any] = {"intent": got}
    scores = [{"key": "intent_match", "score": expected == got, "comment": ""}]
    if escalate is not None:
        reference["escalate"], outputs["escalate"] = escalate
        scores.append({"key": "escalation_match", "score": escalate[0] == escalate[1], "comment": ""})
    return CaseResult(id=case_id, tags=[], inputs={}, reference_outputs=reference, outputs=outputs, scores=scores)


def test_per_intent_precision_recall_f1_and_escalation_figures() -> None:
    results = [
        result("1", "shipping", "shipping", escalate=(False, False)),
        result("2", "shipping", "payment", escalate=(False, True)),
        result("3", "payment", "payment", escalate=(True, True)),
        result("4", "human_agent", "human_agent", escalate=(True, False)),
    ]
    intents = per_intent(results)
    assert intents["shipping"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2, "predicted": 1}
    assert intents["payment"]["precision"] == 0.5 and intents["payment"]["recall"] == 1.0
    table = metric_table(results)
    assert table["intent_accuracy"] == 0.75 and table["pass_rate"] == 0.5
    assert table["escalation_precision"] == 0.5 and table["escalation_recall"] == 0.5


def test_off_topic_declined_asked_and_false_alarm_rates_per_dataset_and_language() -> None:
    def case(
        case_id: str, expected: str, got: str, *, escalate: bool, language: str, dataset: str, asked: bool = False
    ) -> CaseResult:
        return CaseResult(
            id=case_id,
            tags=[f"set:{dataset}"],
            inputs={},
            reference_outputs={"intent": expected, "language": language},
            outputs={
                "intent": got,
                "escalate": escalate,
                "steps": ["classify", "ask_topic" if asked else "generate"],
                "off_topic": 0.9 if expected == "out_of_scope" else 0.2,
            },
        )

    cases = [
        case("1", "out_of_scope", "out_of_scope", escalate=True, language="en", dataset="oos"),
        case("2", "out_of_scope", "shipping", escalate=True, language="en", dataset="oos"),  # handed over: declined
        case("3", "out_of_scope", "shipping", escalate=False, language="id", dataset="oos"),  # answered
        case("3b", "out_of_scope", "payment", escalate=False, language="id", dataset="oos", asked=True),  # not answered
        case("4", "shipping", "out_of_scope", escalate=True, language="id", dataset="shop"),  # false alarm
        case("5", "payment", "payment", escalate=False, language="id", dataset="shop"),
        case("6", "account", "payment", escalate=False, language="id", dataset="shop", asked=True),  # asked which topic
    ]
    table = metric_table(cases)
    assert table["out_of_scope_declined"] == 0.75 and table["off_topic_asked"] == 0.25
    assert table["out_of_scope_false_alarm"] == round(1 / 3, 4) and table["in_scope_not_declined"] == round(2 / 3, 4)
    assert table["in_scope_asked"] == round(1 / 3, 4)
    groups = group_metrics(cases)
    assert groups["set:oos"]["out_of_scope_false_alarm"] is None and groups["set:shop"]["cases"] == 3
    sets = set_language_metrics(cases)
    assert sets["oos"]["en"]["out_of_scope_declined"] == 1.0 and sets["oos"]["id"]["out_of_scope_declined"] == 0.5
    assert sets["shop"]["id"] == {
        "cases": 3,
        "intent_accuracy": None,  # no evaluator scores in this unit test
        "out_of_scope_declined": None,
        "off_topic_asked": None,
        "out_of_scope_false_alarm": round(1 / 3, 4),
        "in_scope_asked": round(1 / 3, 4),
        "injection_false_alarm": None,  # no case of the injection measure
    }
    # The trade-off of the decline threshold, on the classifier's evidence, per dataset and language.
    curves = scope_curves(cases)
    at = {point["threshold"]: point for point in curves["oos"]["all"]}
    assert at[0.3]["off_topic_declined"] == 1.0 and at[0.95]["off_topic_declined"] == 0.0
    assert at[0.3]["in_scope_declined"] is None  # no shop question in that set
    assert {p["in_scope_declined"] for p in curves["shop"]["id"]} == {0.0}


def test_every_thresholds_file_make_eval_uses_names_only_known_metrics() -> None:
    paths = sorted((REPO / "evals").glob("thresholds*.toml"))
    assert REPO / "evals" / "thresholds.blind.toml" in paths
    makefile = (REPO / "Makefile").read_text()
    for path in paths:
        assert f"evals/{path.name}" in makefile or path.name == "thresholds.toml", path  # the default
        assert all(set(limits) <= every_metric() for limits in load_thresholds(path).values()), path


def test_a_crashed_case_fails_every_metric_it_would_have_been_scored_on() -> None:
    reference = {"intent": "greeting"}
    scores: list[dict[str, Any]] = [dict(s) for s in failed_scores(reference, "boom")]
    crashed = CaseResult(id="x", tags=["heldout"], inputs={}, reference_outputs=reference, scores=scores, error="boom")
    groups = group_metrics([result("ok", "greeting", "greeting"), crashed])
    assert groups["all"]["intent_accuracy"] == 0.5 and groups["all"]["errors"] == 1
    assert groups["heldout"]["intent_accuracy"] == 0.0 and groups["dev"]["intent_accuracy"] == 1.0


def test_thresholds_flag_low_and_missing_metrics(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[all]\nintent_accuracy = 0.9\nintent_acuracy = 0.5\n[heldout]\nintent_accuracy = 0.9\n")
    failures = below_thresholds({"all": {"intent_accuracy": 0.8}}, load_thresholds(path))
    assert [(f["metric"], f["value"]) for f in failures] == [("intent_accuracy", 0.8), ("intent_acuracy", None)]
    path.write_text('[all]\nintent_accuracy = "high"\n')
    with pytest.raises(ThresholdError, match=r"all\.intent_accuracy: expected a number"):
        load_thresholds(path)


def test_compare_shows_metric_changes_and_flipped_cases() -> None:
    def report(results: list[CaseResult]) -> dict[str, Any]:
        return {"groups": group_metrics(results), "cases": [r.as_json() for r in results]}

    before = report([result("a", "shipping", "payment"), result("b", "payment", "payment")])
    after = report([result("a", "shipping", "shipping"), result("c", "payment", "shipping")])
    comparison = compare_reports(after, before)
    assert comparison["metrics"]["all"]["intent_accuracy"] == {"before": 0.5, "after": 0.5, "change": 0.0}
    assert comparison["flipped"] == [{"id": "a", "was": "fail", "now": "pass", "scores": ["intent_match"]}]
    assert comparison["added"] == ["c"] and comparison["removed"] == ["b"]


# ---------- the runner on the real agent ----------


async def test_results_do_not_depend_on_order_or_concurrency(components: Components) -> None:
    cases = [c for c in load_dataset(GOLDEN) if c.id.startswith(("en-multi", "id-multi", "es-privacy"))]
    forward = await run_cases(components.turns, cases, run_id="forward", concurrency=1)
    backward = await run_cases(components.turns, list(reversed(cases)), run_id="backward", concurrency=6)

    def answers(results: list[CaseResult]) -> dict[str, Any]:
        return {r.id: (r.outputs, [s["score"] for s in r.scores]) for r in results}

    assert answers(forward) == answers(backward)
    assert all(r.error is None for r in forward)
    # Multi-turn cases were really conversations: the verification case ended with a code sent.
    verified = next(r for r in forward if r.id == "en-multi-verify-ok")
    assert verified.outputs["steps"] == ["classify", "verify_customer"] and "6-digit code" in verified.outputs["answer"]
    # Every case's thread is gone afterwards.
    async with components.pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id LIKE 'eval:%'")
        assert (await cursor.fetchone())["count"] == 0  # type: ignore[index]


# ---------- the command ----------


def run_eval(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "carebot"), "eval", *args], env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )


@pytest.mark.slow
def test_eval_on_a_subset_passes_the_thresholds_and_writes_both_reports(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The fast offline eval `make test` runs: 120 golden cases picked with a fixed seed."""
    done = run_eval(
        cli_env, "--dataset", str(GOLDEN), "--sample", "120", "--seed", "7", "--report", str(tmp_path / "a")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "intent_accuracy" in done.stdout and "heldout" in done.stdout
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert len(report["cases"]) == 120 and report["groups"]["all"]["cases"] == 120
    assert report["below_thresholds"] == [] and report["model"] == "offline"
    case = report["cases"][0]
    assert {"inputs", "outputs", "scores", "latency_ms", "passed"} <= case.keys()
    html = (tmp_path / "a" / "report.html").read_text()
    assert "Confusion matrix" in html and "<svg" in html and "All thresholds met" in html

    again = run_eval(
        cli_env, "--dataset", str(GOLDEN), "--sample", "120", "--seed", "7", "--compare", str(tmp_path / "a")
    )
    assert again.returncode == 0 and "0 cases flipped, 0 new, 0 gone" in again.stdout


@pytest.mark.slow
def test_eval_exits_1_below_a_threshold_and_2_on_a_bad_dataset(cli_env: dict[str, str], tmp_path: Path) -> None:
    dataset = write_jsonl(
        tmp_path / "mini.jsonl",
        [row("leak", ["where is my order?"], must_not_include=["A1001"]), row("hi", ["hello"], intent="greeting")],
    )
    strict = tmp_path / "t.toml"
    strict.write_text("[all]\nmust_not_include = 1.0\nintent_accuracy = 1.0\n")
    below = run_eval(cli_env, "--dataset", str(dataset), "--thresholds", str(strict), "--report", str(tmp_path / "r"))
    assert below.returncode == 1
    assert "below threshold: all.must_not_include = 0.0 < 1.0" in below.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [c["id"] for c in report["cases"] if not c["passed"]] == ["leak"]
    assert "Below threshold" in (tmp_path / "r" / "report.html").read_text()

    broken = write_jsonl(tmp_path / "broken.jsonl", [row("a", ["hi"], escalate="maybe")])
    bad = run_eval(cli_env, "--dataset", str(broken))
    assert bad.returncode == 2 and "broken.jsonl:1: reference_outputs.escalate" in bad.stderr
    no_key = run_eval(cli_env, "--dataset", str(dataset), "--langsmith")
    assert no_key.returncode == 2 and "--langsmith needs LANGSMITH_API_KEY" in no_key.stderr


# ---------- LangSmith ----------


@pytest.mark.slow
def test_langsmith_gets_the_dataset_by_name_and_an_experiment_with_feedback(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    rows = [
        row("order", ["where is my order?"], intent="order_status", tool_calls=[{"name": "lookup_order"}]),
        row("human", ["I want to talk to a person"], intent="human_agent", escalate=True),
        row("hello", ["hello"], intent="greeting"),
    ]
    dataset = write_jsonl(tmp_path / "mini.v1.jsonl", rows)
    fake = FakeLangSmith()
    with LoopbackServer(fake) as server:
        env = {**cli_env, "LANGSMITH_ENDPOINT": server.url, "LANGSMITH_API_KEY": "lsv2-test"}
        first = run_eval(env, "--dataset", str(dataset), "--langsmith")
        assert first.returncode == 0, first.stdout + first.stderr

        (dataset_row,) = fake.datasets.values()
        assert dataset_row["name"] == "carebot-mini.v1"
        examples = {e["metadata"]["case_id"]: e for e in fake.examples_of("carebot-mini.v1")}
        assert examples["human"]["inputs"]["messages"] == ["I want to talk to a person"]
        assert examples["human"]["outputs"] == {"intent": "human_agent", "escalate": True}
        (experiment,) = fake.sessions.values()
        assert experiment["reference_dataset_id"] == dataset_row["id"]
        assert experiment["name"].startswith("carebot-mini.v1-offline")
        # Each example's run got the feedback of the evaluators its references call for.
        run_example = {run_id: run.get("reference_example_id") for run_id, run in fake.runs.items()}
        keys: dict[str, set[str]] = {}
        for feedback in fake.feedback:
            example_id = run_example[feedback["run_id"]]
            keys.setdefault(example_id, set()).add(feedback["key"])
        assert keys[examples["order"]["id"]] == {"intent_match", "tool_calls_match"}
        assert keys[examples["human"]["id"]] == {"intent_match", "escalation_match"}
        human_feedback = [f for f in fake.feedback if run_example[f["run_id"]] == examples["human"]["id"]]
        assert all(f["score"] is True for f in human_feedback)

        # The next version of the file: one case changed, one gone, one new — same dataset.
        rows[0]["reference_outputs"]["must_include"] = ["A1001"]
        write_jsonl(dataset, [rows[0], rows[1], row("bye", ["thanks, bye"], intent="greeting")])
        second = run_eval(env, "--dataset", str(dataset), "--langsmith")
        assert second.returncode == 0, second.stdout + second.stderr
    assert len(fake.datasets) == 1 and len(fake.sessions) == 2
    examples = {e["metadata"]["case_id"]: e for e in fake.examples_of("carebot-mini.v1")}
    assert sorted(examples) == ["bye", "human", "order"]
    assert examples["order"]["outputs"]["must_include"] == ["A1001"]


# ---------- the HTML report in a browser ----------


@pytest.mark.slow
async def test_html_report_reads_well_in_chromium(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    from carebot.evals.report import build_report, write_report
    from tests.test_browser import chromium_path

    executable = chromium_path()
    results = [result("ok", "shipping", "shipping"), result("bad", "payment", "shipping")]
    for r, latency in zip(results, (12.5, 40.0), strict=True):
        r.latency_ms = latency
        r.inputs = {"channel": "whatsapp", "user": "+14155550100", "messages": ["is shipping free?"]}
    report = build_report(
        results, about={"dataset": "golden.v1.jsonl", "model": "offline"}, thresholds={"all": {"intent_accuracy": 0.9}}
    )
    _, html = write_report(report, tmp_path)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(html.as_uri())
            assert "intent_accuracy 0.500 < 0.9" in await page.locator(".verdict").inner_text()
            # Failures come first, expanded; passing cases are folded away.
            assert await page.locator(".case").first.inner_text() != ""
            assert "bad" in await page.locator(".case").first.inner_text()
            assert await page.locator("details .case").is_hidden()
            assert await page.locator("svg rect").count() > 0
            await page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            await browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


# ---------- the LLM judge ----------


def judge_reply(request: Recorded) -> tuple[int, Any]:
    body = request.json()
    verdict = {"reasoning": "Both say 30 days.", "score": True}
    return 200, {
        "id": "chatcmpl-judge",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": json.dumps(verdict)}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


async def test_judge_model_scores_correctness_through_openevals_and_the_real_client() -> None:
    with LoopbackServer(judge_reply) as fake:
        settings = Settings(_env_file=None, openai_api_key="sk-test", openai_base_url=fake.url)
        judge = correctness_judge(build_chat_model("openai:judge-model", settings))
        scores = await score_case(
            inputs={"messages": ["can I return a lamp?"]},
            outputs={"answer": "Yes, within 30 days of delivery.", "intent": "returns_refunds"},
            reference_outputs={"intent": "returns_refunds", "reference_answer": "Returns are accepted for 30 days."},
            judge=judge,
        )
    assert [(s["key"], s["score"]) for s in scores] == [("intent_match", True), ("correctness", True)]
    (call,) = [r.json() for r in fake.requests if r.path.endswith("/chat/completions")]
    prompt = json.dumps(call["messages"])
    assert call["model"] == "judge-model"
    assert "can I return a lamp?" in prompt and "Returns are accepted for 30 days." in prompt
