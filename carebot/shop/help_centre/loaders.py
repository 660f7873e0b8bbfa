"""Reading help-centre files into documents: Markdown, text, HTML, PDF and JSONL rows.

HTML goes through BeautifulSoup and PDF through pypdf; both become Markdown-shaped text
(`#` title, `##` sections, blank lines between paragraphs) so one chunker serves every format.
Every problem with a file is a `LoadError` naming it, so a folder ingest can report it and go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from carebot.shop.help_centre.documents import Document, markdown_title

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".jsonl")
MAX_FILE_BYTES = 10 * 1024 * 1024
LANGUAGES = ("en", "id", "es")


class LoadError(Exception):
    """A file (or a row of it) that could not be read; the message names it."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def source_for(path: Path) -> str:
    """How a file is named in the knowledge base: relative to the working directory when
    inside it (so `demo/help_centre/en/shipping.md` is the same document from any checkout)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Every file under `paths` (files as given, folders walked in order, hidden entries skipped)."""
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in relative.parts):
                    yield file
        else:
            yield path


def language_from_path(path: Path) -> str | None:
    """A language named by a folder on the way to the file (`help/es/envios.md` → `es`)."""
    return next((part for part in reversed(path.parent.parts) if part in LANGUAGES), None)


def _read_bytes(path: Path, source: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(
                source, f"too large ({size / 1_048_576:.1f} MB; the limit is {MAX_FILE_BYTES // 1_048_576} MB)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoadError(source, "no such file") from None
    except OSError as exc:
        raise LoadError(source, f"cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise LoadError(source, "is empty")
    return data


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            source, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


def _html_to_markdown(html: str) -> tuple[str | None, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    blocks: list[str] = []
    body = soup.body or soup
    for element in body.find_all(["h1", "h2", "h3", "h4", "p", "li", "pre", "td", "dt", "dd"]):
        # Text inside a list item's paragraph (or a cell's) would otherwise be read twice.
        if element.find_parent(["li", "td", "dd", "pre"]) is not None:
            continue
        text = re.sub(r"\s+", " ", element.get_text(" ", strip=True))
        if not text:
            continue
        if element.name == "h1":
            title = title or text
            blocks.append(f"# {text}")
        elif element.name in ("h2", "h3", "h4"):
            blocks.append(f"## {text}")
        else:
            blocks.append(f"- {text}" if element.name == "li" else text)
    return title, "\n\n".join(blocks)


def _pdf_to_text(path: Path, source: str) -> tuple[str | None, str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise LoadError(source, f"is not a readable PDF ({exc})") from None
    # pypdf ends every line with a newline; blank lines (paragraph breaks) are kept.
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    return (str(title) if title else None), text


def _documents_from_jsonl(text: str, source: str, language: str | None) -> tuple[list[Document], list[LoadError]]:
    documents: list[Document] = []
    errors: list[LoadError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LoadError(where, f"is not JSON ({exc.msg})"))
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row["text"].strip():
            errors.append(LoadError(where, 'needs a non-empty "text" (and "title", optional "url", "language")'))
            continue
        title = str(row.get("title") or row["text"].strip().splitlines()[0][:80])
        url = row.get("url") if isinstance(row.get("url"), str) else None
        row_language = row.get("language") if row.get("language") in LANGUAGES else language
        documents.append(
            Document(
                # Rows are named by URL or title, not line number: reordering the file changes nothing.
                source=f"{source}#{url or title}",
                title=title,
                language=row_language or "",
                text=row["text"],
                url=url,
            )
        )
    return documents, errors


def load_file(path: Path, *, source: str, language: str | None) -> tuple[list[Document], list[LoadError]]:
    """The documents in one file, and the problems with parts of it (JSONL rows).

    A document's `language` is '' when neither the caller nor the file says it; the ingester
    then detects it. Raises `LoadError` when the whole file is unusable.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(source, f"unsupported file type {suffix or '(none)'!r}; use {', '.join(SUPPORTED_SUFFIXES)}")
    data = _read_bytes(path, source)
    if suffix == ".pdf":
        title, text = _pdf_to_text(path, source)
        if not text.strip():
            raise LoadError(source, "has no extractable text (a scanned PDF needs OCR first)")
    else:
        text = _decode(data, source)
        if suffix == ".jsonl":
            return _documents_from_jsonl(text, source, language)
        title = None
        if suffix in (".html", ".htm"):
            title, text = _html_to_markdown(text)
            if not text.strip():
                raise LoadError(source, "has no text in its HTML body")
    fallback = path.stem.replace("-", " ").replace("_", " ").capitalize()
    document = Document(
        source=source,
        title=title or markdown_title(text, fallback),
        language=language or "",
        text=text,
    )
    return [document], []
