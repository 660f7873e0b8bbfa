"""Loading help-centre documents into the knowledge base, and managing what is there.

A document is replaced atomically (one transaction), and only when its content changed, so
re-ingesting a folder is cheap and never leaves a half-written document behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from carebot.db.pool import Pool
from carebot.shop.help_centre.documents import Document, chunk_markdown
from carebot.shop.help_centre.loaders import LoadError, discover, language_from_path, load_file, source_for
from carebot.shop.help_centre.search import TS_CONFIGS, Embedder, embed_pending_chunks

log = logging.getLogger(__name__)

Outcome = Literal["added", "updated", "unchanged"]


async def upsert_document(pool: Pool, document: Document) -> Outcome:
    """Store `document` and its chunks, replacing any earlier version in one transaction.

    Writes nothing when the stored version has the same content.
    """
    chunks = chunk_markdown(document.text)
    config = TS_CONFIGS.get(document.language, "simple")
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            "SELECT id, content_hash FROM kb_documents WHERE source = %s FOR UPDATE", (document.source,)
        )
        existing = await cur.fetchone()
        if existing and existing["content_hash"] == document.content_hash:
            return "unchanged"
        if existing:
            await conn.execute("DELETE FROM kb_documents WHERE id = %s", (existing["id"],))
        cur = await conn.execute(
            "INSERT INTO kb_documents (source, title, language, url, content_hash) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (document.source, document.title, document.language, document.url, document.content_hash),
        )
        row = await cur.fetchone()
        assert row is not None
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO kb_chunks (document_id, ordinal, title, heading, body, ts_config)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(row["id"], i, document.title, c.heading, c.body, config) for i, c in enumerate(chunks)],
            )
    return "updated" if existing else "added"


async def delete_document(pool: Pool, source: str) -> bool:
    """Remove a document and its chunks; False when there was none."""
    async with pool.connection() as conn:
        cur = await conn.execute("DELETE FROM kb_documents WHERE source = %s", (source,))
        return cur.rowcount > 0


async def list_documents(pool: Pool) -> list[dict[str, Any]]:
    """Every document with its chunk count, by source."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT d.source, d.title, d.language, d.url, d.updated_at, count(c.id) AS chunks"
            " FROM kb_documents d LEFT JOIN kb_chunks c ON c.document_id = d.id"
            " GROUP BY d.id ORDER BY d.source"
        )
        return await cur.fetchall()


@dataclass
class IngestReport:
    """What an ingest did, per source, and what it could not read."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, list[str]]:
        return asdict(self)


async def store_documents(
    pool: Pool,
    documents: Sequence[Document],
    report: IngestReport,
    *,
    detect_language: Callable[[str], str],
    embedder: Embedder | None = None,
) -> None:
    """Upsert documents (detecting a missing language), then embed any new chunks."""
    for document in documents:
        if not document.language:
            sample = f"{document.title}\n{document.text[:2000]}"
            document = replace(document, language=await asyncio.to_thread(detect_language, sample))
        outcome = await upsert_document(pool, document)
        getattr(report, outcome).append(document.source)
    if embedder is not None and (report.added or report.updated):
        await embed_pending_chunks(pool, embedder)


async def ingest_paths(
    pool: Pool,
    paths: Sequence[Path],
    *,
    detect_language: Callable[[str], str],
    language: str | None = None,
    sync: bool = False,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Ingest files and folders; a file that cannot be read is reported and skipped.

    With `sync`, documents that came from under these folders (or from these JSONL files) and
    whose file or row is gone are deleted. A file that exists but could not be read keeps its
    earlier version: a broken upload must not empty the help centre.
    """
    report = IngestReport()
    documents: list[Document] = []
    files: set[str] = set()
    protected: set[str] = set()  # files on disk that could not be (fully) read
    for file in discover(paths):
        source = source_for(file)
        files.add(source)
        try:
            # Reading and parsing (PDF, HTML) is blocking work: keep it off the event loop.
            loaded, row_errors = await asyncio.to_thread(
                load_file, file, source=source, language=language or language_from_path(file)
            )
        except LoadError as exc:
            report.errors.append(str(exc))
            protected.add(source)
            continue
        if row_errors:
            report.errors += [str(e) for e in row_errors]
            protected.add(source)
        documents += loaded
    await store_documents(pool, documents, report, detect_language=detect_language, embedder=embedder)
    if sync:
        loaded_sources = {d.source for d in documents}
        prefixes = tuple(source_for(p) + ("/" if p.is_dir() else "#") for p in paths)
        for stored in await list_documents(pool):
            source = stored["source"]
            file = source.split("#", 1)[0]
            gone = file not in files or (file not in protected and "#" in source and source not in loaded_sources)
            if source.startswith(prefixes) and gone and await delete_document(pool, source):
                report.deleted.append(source)
    log.info("kb_ingested", extra={k: len(v) for k, v in report.as_json().items()})
    return report
