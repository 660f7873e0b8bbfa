"""Loading help-centre documents into the knowledge base (Markdown, chunked by section)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from carebot.db.pool import Pool
from carebot.tools.knowledge import TS_CONFIGS

# A section longer than this is split at paragraph boundaries, so a chunk fits a prompt
# comfortably and a sentence is never cut in half.
MAX_CHUNK_CHARS = 1200


@dataclass(frozen=True, slots=True)
class Document:
    source: str
    title: str
    language: str
    text: str
    url: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.language}\n{self.text}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    heading: str
    body: str


def _paragraph_groups(paragraphs: list[str]) -> list[str]:
    groups: list[str] = []
    for paragraph in paragraphs:
        if groups and len(groups[-1]) + len(paragraph) + 2 <= MAX_CHUNK_CHARS:
            groups[-1] += "\n\n" + paragraph
        else:
            groups.append(paragraph)
    return groups


def chunk_markdown(text: str) -> list[Chunk]:
    """Chunks following the document's `##` sections, then its paragraphs."""
    chunks: list[Chunk] = []
    heading, lines = "", list[str]()
    for line in [*text.splitlines(), "## "]:
        if line.startswith("## ") or line.startswith("# "):
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
            chunks += [Chunk(heading, body) for body in _paragraph_groups(paragraphs)]
            heading, lines = (line[3:].strip() if line.startswith("## ") else ""), []
        else:
            lines.append(line)
    return chunks


def markdown_title(text: str, fallback: str) -> str:
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else fallback


async def upsert_document(pool: Pool, document: Document) -> bool:
    """Store `document` and its chunks, replacing any earlier version in one transaction.

    Returns False (and writes nothing) when the stored version has the same content.
    """
    chunks = chunk_markdown(document.text)
    config = TS_CONFIGS.get(document.language, "simple")
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("SELECT id, content_hash FROM kb_documents WHERE source = %s", (document.source,))
        existing = await cur.fetchone()
        if existing and existing["content_hash"] == document.content_hash:
            return False
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
                "INSERT INTO kb_chunks (document_id, ordinal, heading, body, ts_config) VALUES (%s, %s, %s, %s, %s)",
                [(row["id"], i, c.heading, c.body, config) for i, c in enumerate(chunks)],
            )
    return True


def markdown_document(path: Path, *, source: str, language: str) -> Document:
    text = path.read_text(encoding="utf-8")
    return Document(source=source, title=markdown_title(text, path.stem), language=language, text=text)
