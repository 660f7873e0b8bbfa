"""Retrieval quality: does the knowledge base put the right document first?

For each case (its last message, searched in its reference language), the rank of the first
passage from one of the expected `sources`. Reported per language and overall: recall@1,
recall@3 and MRR (over the top `depth` passages).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from carebot.evals.dataset import EvalCase
from carebot.shop.help_centre.search import KnowledgeBase


@dataclass(frozen=True, slots=True)
class RetrievalResult:
    case_id: str
    language: str
    question: str
    expected: tuple[str, ...]
    found: tuple[str, ...]
    """Sources of the passages returned, best first."""
    rank: int | None
    """1-based rank of the first expected source, None when it was not found."""


@dataclass(frozen=True, slots=True)
class RetrievalMetrics:
    cases: int
    recall_at_1: float
    recall_at_3: float
    mrr: float

    def as_json(self) -> dict[str, float | int]:
        return {"cases": self.cases, "recall@1": self.recall_at_1, "recall@3": self.recall_at_3, "mrr": self.mrr}


def metrics(results: Sequence[RetrievalResult]) -> RetrievalMetrics:
    n = len(results) or 1
    return RetrievalMetrics(
        cases=len(results),
        recall_at_1=round(sum(r.rank == 1 for r in results) / n, 4),
        recall_at_3=round(sum(r.rank is not None and r.rank <= 3 for r in results) / n, 4),
        mrr=round(sum(1 / r.rank for r in results if r.rank) / n, 4),
    )


def metrics_by_language(results: Sequence[RetrievalResult]) -> dict[str, RetrievalMetrics]:
    """Metrics per language, then `all`."""
    groups: dict[str, list[RetrievalResult]] = defaultdict(list)
    for result in results:
        groups[result.language].append(result)
    report = {language: metrics(group) for language, group in sorted(groups.items())}
    report["all"] = metrics(results)
    return report


async def evaluate_retrieval(kb: KnowledgeBase, cases: Sequence[EvalCase], *, depth: int = 10) -> list[RetrievalResult]:
    """Search every case that names expected sources; cases without any are skipped."""
    results = []
    for case in cases:
        expected = tuple(case.reference_outputs.sources or ())
        if not expected:
            continue
        language = case.reference_outputs.language or "en"
        question = case.inputs.messages[-1]
        passages = await kb.search(question, language=language, k=depth)
        # Several chunks of one document may come back: rank documents, not chunks.
        found = tuple(dict.fromkeys(p.source for p in passages))
        rank = next((i for i, source in enumerate(found, start=1) if source in expected), None)
        results.append(RetrievalResult(case.id, language, question, expected, found, rank))
    return results
