"""Runs dataset cases through the real turn runner (graph, checkpointer, models) and scores them.

Every case gets a thread of its own (deleted afterwards), so cases cannot see each other and
the results do not depend on their order or on how many run at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from carebot.evals.dataset import EvalCase
from carebot.evals.evaluators import AsyncEvaluator, failed_scores, score_case
from carebot.evals.metrics import CaseResult
from carebot.graph.outcome import TurnResult
from carebot.turns import TurnRunner


def sample_cases(cases: Sequence[EvalCase], size: int | None, *, seed: int) -> list[EvalCase]:
    """`size` cases picked with a seeded generator (the same seed, the same cases), in dataset order."""
    if size is None or size >= len(cases):
        return list(cases)
    chosen = set(random.Random(seed).sample(range(len(cases)), size))
    return [case for i, case in enumerate(cases) if i in chosen]


def outputs_of(turn: TurnResult) -> dict[str, Any]:
    """What evaluators see of a turn: what the customer got and how the graph got there."""
    outputs = turn.as_json()
    del outputs["thread_id"]  # different in every run, and no measure of the answer
    outputs.update(
        tool_calls=list(turn.tool_calls),
        sources=list(turn.sources),
        steps=list(turn.steps),
        off_topic=turn.off_topic,
    )
    return outputs


async def run_conversation(turns: TurnRunner, inputs: dict[str, Any], *, thread_id: str) -> tuple[TurnResult, float]:
    """Send the case's turns in order on its own thread; the last turn and its latency in ms."""
    turn: TurnResult | None = None
    elapsed = 0.0
    for text in inputs["messages"]:
        started = time.perf_counter()
        turn = await turns.chat(channel=inputs["channel"], sender=inputs["user"], text=text, thread_id=thread_id)
        elapsed = (time.perf_counter() - started) * 1000
    assert turn is not None  # the dataset requires at least one message
    return turn, round(elapsed, 2)


async def run_case(
    turns: TurnRunner, case: EvalCase, *, run_id: str, judge: AsyncEvaluator | None = None
) -> CaseResult:
    inputs = case.inputs.model_dump()
    reference = case.references()
    result = CaseResult(id=case.id, tags=list(case.tags), inputs=inputs, reference_outputs=reference)
    thread_id = f"eval:{run_id}:{case.id}"
    try:
        turn, result.latency_ms = await run_conversation(turns, inputs, thread_id=thread_id)
        result.outputs = outputs_of(turn)
        result.scores = [
            dict(score)
            for score in await score_case(
                inputs=inputs, outputs=result.outputs, reference_outputs=reference, judge=judge
            )
        ]
    except Exception as exc:  # one broken case must not stop the run; it is reported as failed
        result.error = f"{type(exc).__name__}: {exc}"
        result.scores = [dict(score) for score in failed_scores(reference, result.error, judged=judge is not None)]
    finally:
        await turns.forget(thread_id)
    return result


async def run_cases(
    turns: TurnRunner,
    cases: Sequence[EvalCase],
    *,
    run_id: str,
    concurrency: int = 4,
    judge: AsyncEvaluator | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run and score every case, `concurrency` at a time; results in dataset order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(case: EvalCase) -> CaseResult:
        async with gate:
            result = await run_case(turns, case, run_id=run_id, judge=judge)
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(case) for case in cases)))
