"""Help-centre documents and how they are cut into chunks for search and prompts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# A section longer than this is split at paragraph (then sentence) boundaries, so a chunk fits
# a prompt comfortably and a sentence is never cut in half.
MAX_CHUNK_CHARS = 1200

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True, slots=True)
class Document:
    """One help-centre article, as read from a file, a JSONL row or the admin API."""

    source: str
    """Unique name: the file path (relative to the working directory), `file#row` for JSONL rows."""
    title: str
    language: str
    """en | id | es, or '' when not known yet (the ingester detects it)."""
    text: str
    """Markdown-shaped text: `#` title, `##` sections, blank lines between paragraphs."""
    url: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.language}\n{self.url}\n{self.text}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    heading: str
    """The section heading the chunk sits under ('' before the first one)."""
    body: str


def _split_long(paragraph: str) -> list[str]:
    """A paragraph too long for one chunk, cut between sentences."""
    if len(paragraph) <= MAX_CHUNK_CHARS:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if pieces and len(pieces[-1]) + len(sentence) + 1 <= MAX_CHUNK_CHARS:
            pieces[-1] += " " + sentence
        else:
            pieces.append(sentence)
    return pieces


def _paragraph_groups(paragraphs: list[str]) -> list[str]:
    groups: list[str] = []
    for paragraph in (piece for p in paragraphs for piece in _split_long(p)):
        if groups and len(groups[-1]) + len(paragraph) + 2 <= MAX_CHUNK_CHARS:
            groups[-1] += "\n\n" + paragraph
        else:
            groups.append(paragraph)
    return groups


def chunk_markdown(text: str) -> list[Chunk]:
    """Chunks following the document's sections (any `##`…`######` heading), then its paragraphs."""
    chunks: list[Chunk] = []
    heading, lines = "", list[str]()
    for line in [*text.splitlines(), "## "]:
        match = _HEADING.match(line)
        if match:
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
            chunks += [Chunk(heading, body) for body in _paragraph_groups(paragraphs)]
            # The `#` title is the document's, not a section's.
            heading, lines = ("" if len(match.group(1)) == 1 else match.group(2).strip()), []
        else:
            lines.append(line)
    return chunks


def markdown_title(text: str, fallback: str) -> str:
    """The document's `# Title`, else its first short line, else `fallback`."""
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    if match:
        return match.group(1).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if 0 < len(first) <= 80 and not first.endswith((".", ",", ":")) else fallback
