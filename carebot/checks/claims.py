"""Factual claims in a text that a customer would act on: durations ("3-5 business days",
"24 jam"), amounts ("$25", "Rp 50.000", "4,99 EUR"), percentages, dates and clock times.

Deterministic and language-aware (English, Indonesian, Spanish), so the answer check can ask of
any model's draft: is every such claim in the material it was written from? Claims are
normalised before they are compared: "3–5 days", "3 to 5 days" and "3 sampai 5 hari" are one
claim; "2 weeks" is "14 days"; "Rp25.000" is "25,000 IDR"; "2 pm" is "14:00".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

ClaimKind = Literal["duration", "amount", "percentage", "date", "clock_time"]


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim, normalised: `low`..`high` in `unit` (equal for a single value)."""

    kind: ClaimKind
    unit: str
    """hours | business_days (durations), a currency code, % , month-day (dates), minutes (clock)."""
    low: Decimal
    high: Decimal
    year: int | None = None
    """Dates only, when written."""
    text: str = field(default="", compare=False)
    """As the text wrote it, for the colleague reading why an answer was stopped."""

    def grounded_by(self, other: Claim) -> bool:
        """Whether `other` (a claim of the material) backs this one: the same value or range, or
        a single value that is one end of the material's range ("within 5 days" from "3-5 days")."""
        if (self.kind, self.unit) != (other.kind, other.unit):
            return False
        if self.year is not None and other.year is not None and self.year != other.year:
            return False
        if (self.low, self.high) == (other.low, other.high):
            return True
        return self.low == self.high and self.low in (other.low, other.high)


# Number words customers and models write instead of digits. Multi-word ones come first in the
# pattern (built longest first), so "dua puluh empat" is 24, not 2.
_NUMBER_WORDS: dict[str, int] = {
    **dict.fromkeys(("one", "satu", "uno", "una", "un"), 1),
    **dict.fromkeys(("two", "dua", "dos"), 2),
    **dict.fromkeys(("three", "tiga", "tres"), 3),
    **dict.fromkeys(("four", "empat", "cuatro"), 4),
    **dict.fromkeys(("five", "lima", "cinco"), 5),
    **dict.fromkeys(("six", "enam", "seis"), 6),
    **dict.fromkeys(("seven", "tujuh", "siete"), 7),
    **dict.fromkeys(("eight", "delapan", "ocho"), 8),
    **dict.fromkeys(("nine", "sembilan", "nueve"), 9),
    **dict.fromkeys(("ten", "sepuluh", "diez"), 10),
    **dict.fromkeys(("eleven", "sebelas", "once"), 11),
    **dict.fromkeys(("twelve", "dua belas", "doce"), 12),
    **dict.fromkeys(("fourteen", "empat belas", "catorce"), 14),
    **dict.fromkeys(("fifteen", "lima belas", "quince"), 15),
    **dict.fromkeys(("twenty", "dua puluh", "veinte"), 20),
    **dict.fromkeys(("twenty-four", "twenty four", "dua puluh empat", "veinticuatro"), 24),
    **dict.fromkeys(("thirty", "tiga puluh", "treinta"), 30),
    **dict.fromkeys(("forty-eight", "forty eight", "empat puluh delapan", "cuarenta y ocho"), 48),
    **dict.fromkeys(("sixty", "enam puluh", "sesenta"), 60),
    **dict.fromkeys(("ninety", "sembilan puluh", "noventa"), 90),
}
# "a week", "un mes", "satu hari": one of the unit, in words.
_ONE = r"(?:an?|one|un|una|uno|satu)"
# "sehari", "seminggu": Indonesian writes one of a unit as a prefix.
_INDONESIAN_ONE = {
    "sehari": "hari",
    "sejam": "jam",
    "semenit": "menit",
    "seminggu": "minggu",
    "sepekan": "pekan",
    "sebulan": "bulan",
    "setahun": "tahun",
}
# "once a week", "twice a day", "per hari", "al día": a frequency, not a duration.
_FREQUENCY_WORD = re.compile(r"(?:once|twice|times|per|every|each|sekali|kali|al|por|cada)\s*$", re.IGNORECASE)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_DIGITS = r"\d+(?:[.,]\d+)*"
_NUMBER = rf"(?:{_DIGITS}|(?:{_alternation(_NUMBER_WORDS)})(?![\w-]))"
# "3-5", "3 to 5", "3 sampai 5", "entre 3 y 5", "3 o 4": the connectors of a range.
_RANGE_CONNECTOR = r"(?:-|–|—|to|until|till|or|and|sampai|hingga|s/d|s\.d\.|atau|dan|a|al|hasta|o|y)"
_RANGE = rf"(?P<low>{_NUMBER})(?:\s*{_RANGE_CONNECTOR}\s*(?P<high>{_NUMBER}))?"

# Duration units: the unit they count in, and how many of it one is. Working days are a unit of
# their own: "5 working days" is not "5 days".
_DURATION_UNITS: dict[str, tuple[str, Decimal]] = {}
for _words, _unit, _size in (
    (("minute", "minutes", "min", "mins", "menit", "minuto", "minutos"), "hours", Decimal(1) / 60),
    (("hour", "hours", "hr", "hrs", "jam", "hora", "horas"), "hours", Decimal(1)),
    (("day", "days", "hari", "día", "días", "dia", "dias"), "hours", Decimal(24)),
    (("week", "weeks", "minggu", "pekan", "semana", "semanas"), "hours", Decimal(24 * 7)),
    (("month", "months", "bulan", "mes", "meses"), "hours", Decimal(24 * 30)),
    (("year", "years", "tahun", "año", "años", "ano", "anos"), "hours", Decimal(24 * 365)),
    (
        (
            "working day",
            "working days",
            "business day",
            "business days",
            "hari kerja",
            "día hábil",
            "días hábiles",
            "dia habil",
            "dias habiles",
            "día laborable",
            "días laborables",
            "dias laborables",
        ),
        "business_days",
        Decimal(1),
    ),
):
    for _word in _words:
        _DURATION_UNITS[_word] = (_unit, _size)
_DURATION_UNIT = rf"(?P<unit>{_alternation(_DURATION_UNITS)})(?!\w)"
_DURATION = re.compile(rf"(?<![\w.,]){_RANGE}[\s-]*{_DURATION_UNIT}", re.IGNORECASE)
_ONE_DURATION = re.compile(
    rf"\b{_ONE}\s+{_DURATION_UNIT}|\b(?P<prefixed>{_alternation(_INDONESIAN_ONE)})\b", re.IGNORECASE
)

_CURRENCIES = {
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "dólar": "USD",
    "dólares": "USD",
    "dolares": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "rp": "IDR",
    "rp.": "IDR",
    "idr": "IDR",
    "rupiah": "IDR",
}
_SCALES = {"k": 1000, "rb": 1000, "ribu": 1000, "jt": 1_000_000, "juta": 1_000_000}
_CURRENCY = rf"(?:{_alternation(_CURRENCIES)})"
_SCALE = rf"(?:{_alternation(_SCALES)})"
_AMOUNT = re.compile(
    rf"(?<![\w$€])(?P<before>{_CURRENCY})\s?(?P<value>{_DIGITS})(?:\s?(?P<scale>{_SCALE})(?!\w))?"
    rf"|(?<![\w.,])(?P<value2>{_DIGITS})\s?(?:(?P<scale2>{_SCALE})\s?)?(?P<after>{_CURRENCY})(?!\w)",
    re.IGNORECASE,
)
_PERCENTAGE = re.compile(rf"(?<![\w.,])(?P<value>{_DIGITS})\s?(?:%|percent\b|per cent\b|persen\b|por ciento\b)", re.I)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januari enero ene",
        "february feb februari febrero",
        "march mar maret marzo",
        "april apr abril abr",
        "may mei mayo",
        "june jun juni junio",
        "july jul juli julio",
        "august aug agustus agu agt agosto ago",
        "september sep sept setiembre septiembre",
        "october oct oktober okt octubre",
        "november nov noviembre",
        "december dec desember des diciembre dic",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH = rf"(?P<month>{_alternation(_MONTHS)})\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATES = (
    # 25 Nov 2026, 25 November, 25 de noviembre de 2026
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?{_MONTH}(?!\w)(?:,?\s+(?:de\s+)?{_YEAR})?", re.I),
    # November 25, Nov 25th, 2026
    re.compile(rf"(?<!\w){_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+{_YEAR})?", re.I),
    # 2026-11-25
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
)
# 25/11/2026 or 11/25/2026: which is which depends on the writer, so both readings are kept.
_SLASH_DATE = re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<year>(?:19|20)?\d\d))?(?![\d/])")
_CLOCK = re.compile(
    # The lookahead lets most positions fail at once (a third of the time of the check).
    r"(?=[\dpjsh])(?:"
    r"(?<![\d.,:])(?P<hour>[01]?\d|2[0-3])(?::(?P<minute>[0-5]\d))?\s?(?P<half>[ap]\.m\.|[ap]m)(?!\w)"
    r"|(?<![\d.,:])(?P<hour24>[01]?\d|2[0-3]):(?P<minute24>[0-5]\d)(?![\d:])"
    # Indonesian writes 14.00: only after a word that says it is a time of day.
    r"|(?:pukul|jam|sebelum|sesudah|setelah|hingga|sampai)\s+(?P<hourdot>[01]?\d|2[0-3])\.(?P<minutedot>[0-5]\d)(?!\d))",
    re.IGNORECASE,
)


def parse_number(text: str) -> Decimal | None:
    """A number as written in any of the three languages: digits with thousands separators and a
    decimal comma or point ("1.500.000", "750,000", "4,99", "14.99"), or a number word."""
    word = text.lower()
    if word in _NUMBER_WORDS:
        return Decimal(_NUMBER_WORDS[word])
    if "," in word and "." in word:
        decimal_mark = "," if word.rfind(",") > word.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        word = word.replace(thousands, "").replace(decimal_mark, ".")
    else:
        for mark in ",.":
            groups = word.split(mark)
            if len(groups) > 2 or (len(groups) == 2 and len(groups[1]) == 3):
                word = word.replace(mark, "")  # thousands: 750,000 or 1.500.000
            elif len(groups) == 2:
                word = word.replace(mark, ".")  # a decimal: 4,99 or 14.99
    try:
        return Decimal(word)
    except InvalidOperation:
        return None


def _mask(text: str, span: tuple[int, int]) -> str:
    # Blank a claim out once read, so "14.99 USD" is not read again as 14:99 or "3 days" as a date.
    start, end = span
    return text[:start] + " " * (end - start) + text[end:]


def _durations(text: str) -> tuple[list[Claim], str]:
    claims: list[Claim] = []
    for pattern in (_DURATION, _ONE_DURATION):
        for match in pattern.finditer(text):
            if pattern is _ONE_DURATION and _FREQUENCY_WORD.search(text[: match.start()]):
                continue
            written = match["unit"] or _INDONESIAN_ONE[match["prefixed"].lower()]
            unit, size = _DURATION_UNITS[written.lower()]
            groups = match.groupdict()
            low = parse_number(groups["low"]) if groups.get("low") else Decimal(1)
            high = parse_number(groups["high"]) if groups.get("high") else low
            if low is None or high is None:
                continue
            claims.append(Claim("duration", unit, low * size, high * size, text=match.group(0).strip()))
            text = _mask(text, match.span())
    return claims, text


def _amounts(text: str) -> tuple[list[Claim], str]:
    claims: list[Claim] = []
    for match in _AMOUNT.finditer(text):
        value = parse_number(match["value"] or match["value2"])
        currency = _CURRENCIES[(match["before"] or match["after"]).lower()]
        scale = (match["scale"] or match["scale2"] or "").lower()
        if value is None:
            continue
        value *= _SCALES.get(scale, 1)
        claims.append(Claim("amount", currency, value, value, text=match.group(0).strip()))
        text = _mask(text, match.span())
    for match in _PERCENTAGE.finditer(text):
        value = parse_number(match["value"])
        if value is not None:
            claims.append(Claim("percentage", "%", value, value, text=match.group(0).strip()))
            text = _mask(text, match.span())
    return claims, text


def _date_claim(month: int, day: int, year: int | None, written: str) -> Claim | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    value = Decimal(month * 100 + day)
    return Claim("date", "month-day", value, value, year=year, text=written)


def _dates(text: str) -> tuple[list[Claim], str]:
    claims: list[Claim] = []
    for pattern in _DATES:
        for match in pattern.finditer(text):
            if match["month"] == "may" and pattern is _DATES[1]:
                continue  # "it may 3…": the English modal verb, lower-case, before a number
            month_text = match["month"].lower()
            month = _MONTHS[month_text] if month_text in _MONTHS else int(month_text)
            year = int(match["year"]) if match["year"] else None
            claim = _date_claim(month, int(match["day"]), year, match.group(0).strip())
            if claim is not None:
                claims.append(claim)
                text = _mask(text, match.span())
    for match in _SLASH_DATE.finditer(text):
        a, b = int(match["a"]), int(match["b"])
        year = int(match["year"]) if match["year"] else None
        if year is not None and year < 100:
            year += 2000
        readings = [c for c in (_date_claim(b, a, year, match[0]), _date_claim(a, b, year, match[0])) if c]
        claims.extend(readings)
        if readings:
            text = _mask(text, match.span())
    return claims, text


def _clock_times(text: str) -> list[Claim]:
    claims: list[Claim] = []
    for match in _CLOCK.finditer(text):
        if match["hour"] is not None:
            hour = int(match["hour"]) % 12 + (12 if match["half"].lower().startswith("p") else 0)
            minute = int(match["minute"] or 0)
        elif match["hour24"] is not None:
            hour, minute = int(match["hour24"]), int(match["minute24"])
        else:
            hour, minute = int(match["hourdot"]), int(match["minutedot"])
        value = Decimal(hour * 60 + minute)
        claims.append(Claim("clock_time", "minutes", value, value, text=match.group(0).strip()))
    return claims


def extract_claims(text: str) -> list[Claim]:
    """Every claim in `text`, in the order the kinds are read (amounts, durations, dates, times)."""
    amounts, rest = _amounts(text)
    durations, rest = _durations(rest)
    dates, rest = _dates(rest)
    return amounts + durations + dates + _clock_times(rest)


@functools.lru_cache(maxsize=1024)
def _claims_of_part(text: str) -> tuple[Claim, ...]:
    # The help centre's passages come back turn after turn: their claims are read once.
    return tuple(extract_claims(text))


def ungrounded_claims(answer: str, material: str | Sequence[str]) -> list[Claim]:
    """The claims of `answer` that no claim of `material` (one text, or its parts: passages,
    order facts, the question, each read on its own) backs, each once."""
    claims = extract_claims(answer)
    if not claims:
        return []
    parts = [material] if isinstance(material, str) else material
    known = [fact for part in parts for fact in _claims_of_part(part)]
    missing: dict[str, Claim] = {}
    for claim in claims:
        if not any(claim.grounded_by(fact) for fact in known):
            missing.setdefault(claim.text.casefold(), claim)
    return list(missing.values())
