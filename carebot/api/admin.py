"""Admin endpoints: the knowledge base, for shop admins (signed in) and `ADMIN_TOKEN` automation."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from carebot.api.deps import ComponentsDep
from carebot.api.input_errors import StorableStr
from carebot.api.operator_auth import require_admin_role
from carebot.models.text_models import detect_language
from carebot.shop.help_centre.documents import Document, markdown_title
from carebot.shop.help_centre.ingest import IngestReport, delete_document, list_documents, store_documents

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin_role)])


class DocumentIn(BaseModel):
    source: StorableStr = Field(min_length=1, max_length=500, description="Unique name; the same source replaces it.")
    text: StorableStr = Field(min_length=1, max_length=500_000, description="Markdown or plain text.")
    title: StorableStr | None = Field(default=None, max_length=300, description="Default: the text's `# Title`.")
    url: StorableStr | None = Field(default=None, max_length=2000)
    language: Literal["en", "id", "es"] | None = Field(default=None, description="Default: detected.")


class DocumentOut(BaseModel):
    source: str
    outcome: Literal["added", "updated", "unchanged"]


class SearchHit(BaseModel):
    title: str
    source: str
    text: str
    score: float


@router.post("/kb/documents", status_code=status.HTTP_201_CREATED)
async def put_document(body: DocumentIn, components: ComponentsDep, response: Response) -> DocumentOut:
    """Add or replace one document (atomically); an unchanged one is left alone (200)."""
    document = Document(
        source=body.source,
        title=body.title or markdown_title(body.text, body.source),
        language=body.language or "",
        text=body.text,
        url=body.url,
    )
    report = IngestReport()
    await store_documents(
        components.pool,
        [document],
        report,
        detect_language=partial(detect_language, cache_dir=components.settings.cache_dir),
        embedder=components.embedder,
    )
    outcome: Literal["added", "updated", "unchanged"] = (
        "added" if report.added else "updated" if report.updated else "unchanged"
    )
    if outcome != "added":
        response.status_code = status.HTTP_200_OK
    return DocumentOut(source=body.source, outcome=outcome)


@router.get("/kb/documents")
async def get_documents(components: ComponentsDep) -> list[dict[str, Any]]:
    """Every document in the knowledge base, with its chunk count."""
    return await list_documents(components.pool)


@router.delete("/kb/documents", status_code=status.HTTP_204_NO_CONTENT)
async def remove_document(
    components: ComponentsDep, source: Annotated[StorableStr, Query(min_length=1, max_length=500)]
) -> None:
    """Delete one document by source; 404 when there is none."""
    if not await delete_document(components.pool, source):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no document with source {source!r}")


@router.get("/kb/search")
async def search(
    components: ComponentsDep,
    q: Annotated[StorableStr, Query(min_length=1, max_length=2000, description="The question.")],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    language: Literal["en", "id", "es"] | None = None,
) -> list[SearchHit]:
    """Search the knowledge base exactly as the bot does; scores in [0, 1], best first."""
    searched_in: str = (
        language if language else await asyncio.to_thread(detect_language, q, cache_dir=components.settings.cache_dir)
    )
    passages = await components.deps.knowledge.search(q, language=searched_in, k=k)
    return [SearchHit(title=p.title, source=p.source, text=p.text, score=p.score) for p in passages]
