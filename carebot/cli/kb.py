"""`carebot kb …`: the help centre the bot answers from."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from carebot.cli.common import JsonOption, TenantOption, errors, print_json, say, with_database
from carebot.db.pool import Pool
from carebot.evals.dataset import DatasetError, load_dataset
from carebot.evals.retrieval import RetrievalResult, evaluate_retrieval, metrics_by_language
from carebot.settings import Settings
from carebot.shop.help_centre.ingest import IngestReport, delete_document, ingest_paths, list_documents
from carebot.shop.help_centre.search import check_embeddings_table

kb_app = typer.Typer(help="The knowledge base (help centre) the bot answers from.", no_args_is_help=True)

LanguageOption = Annotated[
    str | None, typer.Option("--language", help="en | id | es (default: from the folder names, else detected).")
]


def _check_language(language: str | None) -> None:
    if language not in (None, "en", "id", "es"):
        raise typer.BadParameter(f"unknown language {language!r}: use en, id or es", param_hint="--language")


@kb_app.command("ingest")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: .md .txt .html .pdf .jsonl")],
    sync: Annotated[bool, typer.Option("--sync", help="Delete documents whose files are gone.")] = False,
    language: LanguageOption = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Add or update documents; unchanged ones are left alone. Exits 1 if any file failed."""
    _check_language(language)

    from carebot.models.factory import build_embedder  # the models' libraries: only when used
    from carebot.models.text_models import detect_language

    async def run(pool: Pool, settings: Settings) -> IngestReport:
        embedder = build_embedder(settings)
        if embedder is not None:
            await check_embeddings_table(pool)
        return await ingest_paths(
            pool,
            paths,
            detect_language=partial(detect_language, cache_dir=settings.cache_dir),
            language=language,
            sync=sync,
            embedder=embedder,
        )

    report = with_database(run, tenant=tenant)
    if as_json:
        print_json(report.as_json())
    else:
        for outcome in ("added", "updated", "deleted"):
            for source in getattr(report, outcome):
                say(f"{outcome:>9}  {source}")
        say(
            f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.deleted)} deleted, {len(report.errors)} failed"
        )
    for error in report.errors:
        errors.print(f"error: {error}", markup=False, highlight=False)
    if report.errors:
        raise typer.Exit(1)


@kb_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="A question, as a customer would ask it.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many passages.")] = 5,
    language: LanguageOption = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Search the knowledge base as the bot does; scores are in [0, 1], best first."""
    _check_language(language)

    async def run(pool: Pool, settings: Settings) -> list[dict[str, Any]]:
        from carebot.composition import open_knowledge_base
        from carebot.models.factory import build_embedder
        from carebot.models.text_models import detect_language

        kb = await open_knowledge_base(settings, pool, build_embedder(settings))
        passages = await kb.search(
            query, language=language or detect_language(query, cache_dir=settings.cache_dir), k=k
        )
        return [{"title": p.title, "source": p.source, "text": p.text, "score": p.score} for p in passages]

    results = with_database(run, seed=True, tenant=tenant)
    if as_json:
        print_json(results)
        return
    for r in results:
        say(f"{r['score']:.2f}  {r['title']}  ({r['source']})", style="bold")
        say(r["text"] + "\n")


@kb_app.command("list")
def list_(as_json: JsonOption = False, tenant: TenantOption = None) -> None:
    """List the documents in the knowledge base."""

    async def run(pool: Pool, settings: Settings) -> list[dict[str, Any]]:
        return await list_documents(pool)

    documents = with_database(run, seed=True, tenant=tenant)
    if as_json:
        print_json(documents)
        return
    for d in documents:
        say(f"{d['language']}  {d['chunks']:>3} chunks  {d['source']}  — {d['title']}")


@kb_app.command("delete")
def delete(
    source: Annotated[str, typer.Argument(help="The document's source, as `kb list` shows it.")],
    tenant: TenantOption = None,
) -> None:
    """Delete one document and its chunks."""

    async def run(pool: Pool, settings: Settings) -> bool:
        return await delete_document(pool, source)

    if not with_database(run, tenant=tenant):
        errors.print(f"No document with source {source!r}.", markup=False)
        raise typer.Exit(1)
    say(f"Deleted {source}.")


@kb_app.command("evaluate")
def evaluate(
    datasets: Annotated[
        list[Path], typer.Option("--dataset", help="JSONL cases with reference `sources`; repeat for several.")
    ] = [Path("evals/datasets/retrieval.v1.jsonl")],  # noqa: B006
    fail_under: Annotated[
        float | None, typer.Option("--fail-under", help="Exit 1 when recall@3 of any language of any dataset is lower.")
    ] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = None,
) -> None:
    """Retrieval quality on question → document sets: recall@1, recall@3 and MRR per dataset and language."""
    try:
        cases = {path.name.split(".")[0]: load_dataset(path) for path in datasets}
    except DatasetError as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(2) from None

    async def run(pool: Pool, settings: Settings) -> dict[str, list[RetrievalResult]]:
        from carebot.composition import open_knowledge_base
        from carebot.models.factory import build_embedder

        kb = await open_knowledge_base(settings, pool, build_embedder(settings))
        return {name: await evaluate_retrieval(kb, set_cases) for name, set_cases in cases.items()}

    results = with_database(run, seed=True, tenant=tenant)
    every_result = [r for set_results in results.values() for r in set_results]
    report = {
        name: {language: m.as_json() for language, m in metrics_by_language(set_results).items()}
        for name, set_results in results.items()
    }
    misses = [r for r in every_result if r.rank != 1]
    if as_json:
        overall = {language: m.as_json() for language, m in metrics_by_language(every_result).items()}
        print_json({"metrics": overall, "sets": report, "misses": [_miss(r) for r in misses]})
    else:
        say(f"{'dataset':<22}{'language':<9}{'cases':>6}{'recall@1':>10}{'recall@3':>10}{'MRR':>8}", style="bold")
        for name, languages in report.items():
            for language, m in languages.items():
                say(
                    f"{name:<22}{language:<9}{m['cases']:>6}{m['recall@1']:>10.3f}{m['recall@3']:>10.3f}{m['mrr']:>8.3f}"
                )
        for r in misses:
            say(f"  rank {r.rank or '-'}: [{r.case_id}] {r.question!r} → {r.found[:3]}", style="dim")
    below = [
        f"{name} {language}"
        for name, languages in report.items()
        for language, m in languages.items()
        if fail_under is not None and m["recall@3"] < fail_under
    ]
    if below:
        errors.print(f"recall@3 below {fail_under} for: {', '.join(below)}", markup=False)
        raise typer.Exit(1)


def _miss(result: RetrievalResult) -> dict[str, Any]:
    return {
        "id": result.case_id,
        "question": result.question,
        "expected": result.expected,
        "found": result.found,
        "rank": result.rank,
    }
