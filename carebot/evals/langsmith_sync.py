"""The `--langsmith` path: keep a LangSmith dataset in step with the golden file, then run the
same target and evaluators as a LangSmith experiment.

The dataset is found by name (`carebot-golden.v1`); each case is one example whose metadata
holds the case id, so re-running adds new cases, updates changed ones and deletes removed ones.
LangSmith keeps a version of the dataset for every such change, so each experiment records
exactly which cases it ran against.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import langsmith
from langsmith import Client

from carebot.evals.dataset import EvalCase
from carebot.evals.evaluators import AsyncEvaluator, score_case
from carebot.evals.runner import outputs_of, run_conversation
from carebot.turns import TurnRunner


@dataclass(frozen=True, slots=True)
class SyncResult:
    dataset_id: str
    added: int
    updated: int
    deleted: int


def _example(case: EvalCase) -> dict[str, Any]:
    return {
        "inputs": case.inputs.model_dump(),
        "outputs": case.references(),
        "metadata": {"case_id": case.id, "tags": case.tags},
    }


def sync_dataset(client: Client, name: str, cases: Sequence[EvalCase], *, description: str = "") -> SyncResult:
    """Make the LangSmith dataset `name` hold exactly `cases` (blocking: run it in a thread)."""
    if client.has_dataset(dataset_name=name):
        dataset = client.read_dataset(dataset_name=name)
    else:
        dataset = client.create_dataset(name, description=description or "carebot golden cases")
    existing = {
        (example.metadata or {}).get("case_id"): example for example in client.list_examples(dataset_id=dataset.id)
    }
    wanted = {case.id: _example(case) for case in cases}
    new = [example for case_id, example in wanted.items() if case_id not in existing]
    changed = [
        {"id": existing[case_id].id, **example}
        for case_id, example in wanted.items()
        if case_id in existing
        and (existing[case_id].inputs, existing[case_id].outputs, existing[case_id].metadata)
        != (example["inputs"], example["outputs"], example["metadata"])
    ]
    gone = [example.id for case_id, example in existing.items() if case_id not in wanted]
    if new:
        client.create_examples(dataset_id=dataset.id, examples=new)
    if changed:
        client.update_examples(dataset_id=dataset.id, updates=changed)
    if gone:
        client.delete_examples(example_ids=gone)
    return SyncResult(str(dataset.id), len(new), len(changed), len(gone))


async def run_experiment(
    turns: TurnRunner,
    dataset: Sequence[EvalCase],
    *,
    model: str,
    dataset_name: str,
    run: Sequence[str] | None = None,
    judge: AsyncEvaluator | None = None,
    concurrency: int = 4,
    client: Client | None = None,
) -> str:
    """Sync the whole dataset, then run its examples (those whose case ids are in `run`, or
    all) through the agent as a LangSmith experiment scored by the same evaluators as a local
    run. Returns the experiment's name."""
    client = client or Client()
    synced = await asyncio.to_thread(sync_dataset, client, dataset_name, dataset)
    examples = await asyncio.to_thread(lambda: list(client.list_examples(dataset_id=synced.dataset_id)))
    if run is not None:
        chosen = set(run)
        examples = [e for e in examples if (e.metadata or {}).get("case_id") in chosen]

    async def carebot(inputs: dict[str, Any]) -> dict[str, Any]:
        thread_id = f"eval:langsmith:{uuid.uuid4().hex}"
        try:
            turn, _ = await run_conversation(turns, inputs, thread_id=thread_id)
        finally:
            await turns.forget(thread_id)
        return outputs_of(turn)

    async def carebot_scores(
        *, inputs: dict[str, Any], outputs: dict[str, Any], reference_outputs: dict[str, Any]
    ) -> dict[str, Any]:
        scores = await score_case(inputs=inputs, outputs=outputs, reference_outputs=reference_outputs, judge=judge)
        return {"results": scores}

    results = await langsmith.aevaluate(
        carebot,
        data=examples,
        # langsmith's annotation misses async evaluators taking keyword arguments; it runs them.
        evaluators=[carebot_scores],  # type: ignore[list-item]
        experiment_prefix=f"{dataset_name}-{model.split()[0]}",
        metadata={"model": model},
        max_concurrency=concurrency,
        client=client,
    )
    await results.wait()  # type: ignore[attr-defined]
    return str(results.experiment_name)
