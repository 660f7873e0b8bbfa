"""Knowledge-base search over the shop's help centre, stored in Postgres."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from carebot.db.pool import Pool

# Postgres text-search configuration per customer language; `simple` for anything else.
TS_CONFIGS = {"en": "english", "id": "indonesian", "es": "spanish"}

# Postgres' indonesian configuration stems but has no stop-word list: without these, words
# every question contains ("saya", "bisa") would count as matches and dilute the score.
_INDONESIAN_STOPWORDS = frozenset(
    "saya aku kamu anda apa apakah ke di dari yang dan ini itu kak min admin dong ya bisa mau "
    "gimana bagaimana berapa ada tidak nggak gak ga kok sih deh untuk dengan pada sudah udah "
    "belum blm tolong mohon minta kalau jika atau juga lagi nya".split()
)


@dataclass(frozen=True, slots=True)
class Passage:
    """One help-centre chunk that matched a question."""

    title: str
    """Title of the document the chunk comes from."""
    source: str
    """Where the document was ingested from (path or URL); names the source in answers."""
    heading: str
    """The section heading the chunk sits under ('' for a document's opening)."""
    text: str
    """The chunk's text."""
    language: str
    """The document's language code."""
    score: float
    """Relevance in [0, 1]: the share of the question's key terms the chunk contains."""


class KnowledgeBase(Protocol):
    """Anything that finds help-centre passages for a question."""

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        """Return up to `k` passages, best first."""
        ...


_SEARCH_SQL = """
WITH q AS (
    SELECT array(SELECT unnest(tsvector_to_array(to_tsvector(%(cfg)s::regconfig, %(text)s)))
                 EXCEPT SELECT unnest(%(stop)s::text[])) AS terms
), tq AS (
    SELECT terms, (SELECT string_agg(quote_literal(t), ' | ') FROM unnest(terms) t)::tsquery AS query
    FROM q WHERE cardinality(terms) > 0
)
SELECT d.title, d.source, d.language, c.heading, c.body,
       (SELECT count(*) FROM unnest(tq.terms) t WHERE t = ANY(tsvector_to_array(c.tsv)))::float
           / cardinality(tq.terms) AS coverage,
       ts_rank_cd(c.tsv, tq.query, 32) AS rank
FROM tq, kb_chunks c JOIN kb_documents d ON d.id = c.document_id
WHERE c.ts_config = %(cfg)s::regconfig AND c.tsv @@ tq.query
ORDER BY coverage DESC, rank DESC, c.id
LIMIT %(k)s
"""


class PostgresKnowledgeBase:
    """Full-text search over `kb_chunks`, in the question's language first, then English."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        """Return up to `k` passages, best first, scored by how much of the question they cover."""
        passages = await self._search_in(query, language, k)
        if language != "en" and (not passages or passages[0].score < 0.5):
            # Many shops write their help centre in English only: look there too.
            passages = sorted(passages + await self._search_in(query, "en", k), key=lambda p: p.score, reverse=True)[:k]
        return passages

    async def _search_in(self, query: str, language: str, k: int) -> list[Passage]:
        cfg = TS_CONFIGS.get(language, "simple")
        stop = sorted(_INDONESIAN_STOPWORDS) if language == "id" else []
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SEARCH_SQL, {"cfg": cfg, "text": query, "stop": stop, "k": k})
            rows = await cur.fetchall()
        return [
            Passage(
                title=row["title"],
                source=row["source"],
                heading=row["heading"],
                text=row["body"],
                language=row["language"],
                score=round(min(1.0, row["coverage"]), 4),
            )
            for row in rows
        ]
