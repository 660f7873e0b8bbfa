"""A lexicon sentiment score for customer messages in English, Indonesian and Spanish.

Deliberately simple and explainable: QA can see why a message counted as angry. Strong words
count double; shouting (caps, "!!!") and intensifiers ("very", "banget", "muy") amplify.
"""

from __future__ import annotations

import re
import unicodedata

_NEGATIVE = {
    # weight 2: words customers use when they are furious
    2: "worst terrible horrible awful unacceptable scam fraud disgusting useless pathetic ridiculous "
    "furious hate incompetent liar liars garbage rubbish "
    "terburuk parah penipuan penipu bohong kecewa_berat keterlaluan benci sampah brengsek "
    "pesimo peor horrible estafa fraude inaceptable asqueroso inutil ridiculo harto odio mentirosos basura "
    "verguenza estafador estafadores furioso furiosa asco",
    1: "bad poor rude broken damaged late disappointed disappointing angry annoyed upset unhappy "
    "ignored ignoring wrong slow never complaint problem fed_up waiting_forever not_happy "
    "buruk jelek kasar rusak telat terlambat kecewa marah kesal lambat salah komplain masalah "
    "nyuekin tidak_puas ga_puas lama_banget "
    "malo mala mal grosero roto danado tarde decepcionado decepcionada enojado molesto lento "
    "equivocado queja problema ignorando no_estoy_contento nunca_mas",
}
_POSITIVE = (
    "thanks thank great good perfect love excellent awesome happy helpful nice amazing "
    "terima_kasih makasih bagus mantap senang puas keren baik "
    "gracias genial bueno buena perfecto excelente encanta feliz amable"
)
_INTENSIFIERS = frozenset("very really so extremely totally sangat banget sekali amat muy super demasiado".split())


def _fold(text: str) -> str:
    """Lower case without accents, so "pésimo" and "pesimo" read the same."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _terms(entries: str) -> list[re.Pattern[str]]:
    # "fed_up" stands for the phrase "fed up"; each entry matches whole words only.
    space = r"\s+"
    return [re.compile(r"\b" + re.escape(e).replace("_", space) + r"\b") for e in entries.split()]


_NEGATIVE_TERMS = {weight: _terms(words) for weight, words in _NEGATIVE.items()}
_POSITIVE_TERMS = _terms(_POSITIVE)


def sentiment_score(text: str) -> float:
    """From -1 (furious) through 0 (neutral) to 1 (delighted)."""
    folded = _fold(text)
    negative = sum(w * sum(1 for t in terms if t.search(folded)) for w, terms in _NEGATIVE_TERMS.items())
    positive = sum(1 for t in _POSITIVE_TERMS if t.search(folded))
    raw = float(positive - negative)
    letters = [ch for ch in text if ch.isalpha()]
    shouting = len(letters) >= 8 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7
    if raw and (shouting or "!!" in text or _INTENSIFIERS.intersection(folded.split())):
        raw *= 1.5
    return round(raw / (abs(raw) + 1.5), 3)
