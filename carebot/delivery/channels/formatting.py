"""Shaping answers for a channel: WhatsApp's formatting, and messages split under a size limit."""

from __future__ import annotations

import re

WHATSAPP_LIMIT = 1600
DISCORD_LIMIT = 2000

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def to_whatsapp(text: str) -> str:
    """Markdown as WhatsApp shows it: `*bold*`, `_italic_`, `~strike~`, no headings or link syntax."""
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.MULTILINE)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    text = re.sub(r"__(.+?)__", r"_\1_", text)
    text = re.sub(r"~~(.+?)~~", r"~\1~", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"\1 (\2)", text)
    return re.sub(r"^(\s*)[*+]\s+", r"\1- ", text, flags=re.MULTILINE)


def split_message(text: str, limit: int) -> list[str]:
    """`text` as messages of at most `limit` characters, split between paragraphs, else between
    sentences, else between words; in order, nothing lost but the whitespace at the cuts."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    messages: list[str] = []
    for unit, joiner in _units(text, limit):
        if messages and len(messages[-1]) + len(joiner) + len(unit) <= limit:
            messages[-1] += joiner + unit
        else:
            messages.append(unit)
    return messages


def _units(text: str, limit: int) -> list[tuple[str, str]]:
    """The pieces to pack into messages, each with what joins it to the piece before: whole
    paragraphs where they fit, else sentences, else words (a word longer than a message is cut)."""
    units: list[tuple[str, str]] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()):
        joiner = "\n\n"
        sentences = [paragraph] if len(paragraph) <= limit else [s for s in _SENTENCE_END.split(paragraph) if s]
        for sentence in sentences:
            words = [sentence] if len(sentence) <= limit else sentence.split(" ")
            for word in words:
                for start in range(0, len(word), limit):
                    units.append((word[start : start + limit], joiner))
                    joiner = ""
                joiner = " "
    return units
