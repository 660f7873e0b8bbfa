"""Runs action cases (`carebot eval --shop DIR`) one at a time against a shop of their own: the
shop is reset before each case, the conversation is sent turn by turn on a thread of its own, and
the case is scored on what the shop's data looks like afterwards (`carebot.evals.end_state`).

The cases share the shop, so they never run at once; the shop's rows are removed when the run
ends, however it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from carebot.db.pool import Pool
from carebot.evals.dataset import EvalCase
from carebot.evals.end_state import ACTION_EVALUATORS, shop_changes
from carebot.evals.eval_shop import EvalShop, clashes, remove, reset, snapshot
from carebot.evals.evaluators import AsyncEvaluator, score_case
from carebot.evals.metrics import CaseResult
from carebot.evals.runner import outputs_of
from carebot.turns import TurnRunner


class ShopClashError(RuntimeError):
    """The database's own data uses ids or contacts of the eval shop: importing it would overwrite them."""


async def converse(turns: TurnRunner, inputs: dict[str, Any], *, thread_id: str, into: dict[str, Any]) -> float:
    """Send the case's turns in order; each turn's message, then its reply, reading and action,
    go into `into["turns"]` as they come (a crash mid-way keeps what was sent and answered until
    then), the last turn's outputs into `into` itself. The last turn's latency in ms."""
    elapsed = 0.0
    into["turns"] = []
    for text in inputs["messages"]:
        sent: dict[str, Any] = {"message": text}
        into["turns"].append(sent)
        started = time.perf_counter()
        turn = await turns.chat(channel=inputs["channel"], sender=inputs["user"], text=text, thread_id=thread_id)
        elapsed = (time.perf_counter() - started) * 1000
        last = outputs_of(turn)
        sent.update({k: last[k] for k in ("answer", "action", "intent", "language", "escalate", "steps")})
        into.update(last)
    return round(elapsed, 2)


async def score_action_case(
    inputs: dict[str, Any], outputs: dict[str, Any], reference: dict[str, Any], judge: AsyncEvaluator | None
) -> list[dict[str, Any]]:
    """The usual scores of the last turn (language, …), then the shop's: end state, what the
    replies said, confirmed writes only, the customer's own orders only."""
    usual = {k: v for k, v in reference.items() if k not in ("must_include", "end_state")}
    scores = [dict(s) for s in await score_case(inputs=inputs, outputs=outputs, reference_outputs=usual, judge=judge)]
    for evaluate in ACTION_EVALUATORS:
        if evaluate.__name__ != "must_include_in_a_reply" or reference.get("must_include"):
            scores.append(dict(evaluate(inputs=inputs, outputs=outputs, reference_outputs=reference)))
    return scores


async def run_shop_case(
    turns: TurnRunner, case: EvalCase, shop: EvalShop, pool: Pool, *, run_id: str, judge: AsyncEvaluator | None
) -> CaseResult:
    """Reset the shop, hold the conversation, score what changed. A conversation that crashes is
    still scored on what it changed before it did."""
    inputs = case.inputs.model_dump()
    reference = case.references()
    result = CaseResult(id=case.id, tags=list(case.tags), inputs=inputs, reference_outputs=reference)
    thread_id = f"eval:{run_id}:{case.id}"
    await reset(pool, shop, shift=datetime.now(UTC) - shop.as_of)
    before = await snapshot(pool, shop)
    outputs: dict[str, Any] = {}
    try:
        result.latency_ms = await converse(turns, inputs, thread_id=thread_id, into=outputs)
    except Exception as exc:  # one broken case must not stop the run; it is reported as failed
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await turns.forget(thread_id)
    changes = shop_changes(before, await snapshot(pool, shop))
    owners = shop.owners()
    outputs.update(
        shop_changes=changes,
        customer_id=shop.customer_by_email(inputs["user"]),
        owners={kind: {name: owners[kind].get(name) for name in changed} for kind, changed in changes.items()},
    )
    result.outputs = outputs
    result.scores = await score_action_case(inputs, outputs, reference, judge)
    return result


async def run_shop_cases(
    turns: TurnRunner,
    cases: Sequence[EvalCase],
    shop: EvalShop,
    pool: Pool,
    *,
    run_id: str,
    judge: AsyncEvaluator | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Every case, one after the other, each on the freshly reset shop; the shop's rows are
    deleted at the end. Raises `ShopClashError` before anything is written when the shop's files
    would overwrite the database's own data."""
    if found := await clashes(pool, shop):
        raise ShopClashError(
            f"{shop.folder}: the database already has {', '.join(found[:5])}"
            + (f" and {len(found) - 5} more" if len(found) > 5 else "")
            + ", not the eval shop's; importing it would overwrite them. Use another database (DATABASE_URL)."
        )
    results = []
    try:
        for case in cases:
            result = await run_shop_case(turns, case, shop, pool, run_id=run_id, judge=judge)
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        await remove(pool, shop)
    return results
