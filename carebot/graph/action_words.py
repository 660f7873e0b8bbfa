"""Reading what a customer asks to have done, and their answers while the bot gathers it, in en/id/es.

Rules, not a model: whether an action happens is never a guess. A request is read from its verbs
("cancel my order", "quiero devolver", "tolong ganti alamat"); a question about the rules ("how long
do I have to return?") is left to the help centre. Answers to the bot's numbered choices are read as
a number, an ordinal or the words of a choice. Only an explicit yes confirms (`says_yes`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from carebot.shop.records import ActionKind, Address


def _plain(text: str) -> str:
    """Lower case without accents: "Sí, cancélalo" → "si, cancelalo"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _plain(text))


# Verbs of each action (accents stripped). A variant change on a delivered order becomes an exchange,
# an exchange asked for on an order not yet shipped a change of items: the order's status decides.
_ACTION_PATTERNS: tuple[tuple[ActionKind, re.Pattern[str]], ...] = (
    (
        "change_address",
        re.compile(
            r"\b(address|adress|addres|alamat|direccion|domicilio)\b.*\b(change|update|wrong|new|correct|fix|edit|"
            r"ganti|ubah|salah|baru|ganti|perbarui|cambiar|cambia|cambio|actualizar|corregir|modificar|equivo(?:c|qu)\w*|"
            r"nueva)\b|\b(change|update|wrong|new|correct|fix|edit|ganti|ubah|salah|baru|perbarui|cambiar|cambia|"
            r"cambio|actualizar|corregir|modificar|nueva|equivo(?:c|qu)\w*)\b.*\b(address|adress|addres|alamat|direccion|"
            r"domicilio)\b|\b(ship|send|deliver) (it|them|my order|the order) to\b|\bkirim(kan)? ke\b|"
            r"\b(envia|enviad|mandad)\w* a\b"
        ),
    ),
    (
        "exchange",
        re.compile(
            r"\b(exchange|swap (it|this|them) for|tukar\w*|penukaran|cambiarl[oa]s? por|cambio por|"
            r"intercambi\w*)\b"
        ),
    ),
    (
        "change_items",
        re.compile(
            r"\b(size|sizes|colou?r|ukuran|ukurannya|warna|warnanya|talla|tamano|color|variant|model)\b|"
            r"\b(smaller|bigger|larger)\b|\b(different|another|other) (one|size|colou?r)\b"
        ),
    ),
    (
        "return",
        re.compile(
            r"\b(return|returning|send (it|this|them) back|send back|refund|money back|retur|kembalikan|"
            r"balikin|pengembalian|kembaliin|devolver|devuelvo|devolverlo|devolverla|devolucion|devolverlos|"
            r"reembolso|reembolsar)\b"
        ),
    ),
    (
        "cancel",
        re.compile(
            r"\b(cancel|cancell?ed|cancelling|cancelation|cancellation|batal|batalkan|batalin|dibatalkan|"
            r"pembatalan|cancelar|cancela|cancelalo|cancelarlo|cancelen|anular|anula|anulen)\b"
        ),
    ),
)
# Questions about the rules, not requests: the help centre answers them.
_QUESTION = re.compile(
    r"\b(how (do|does|can|long|much)|what (is|s|are)|whats|policy|policies|is it possible|do you (allow|accept|"
    r"offer)|when (will|do)|where is my refund|bagaimana|gimana cara|caranya|berapa lama|kebijakan|apakah bisa|"
    r"como (puedo|se|funciona|hago)|cuanto tiempo|cuantos dias|politica|se puede|es posible)\b"
)
# Words that say "mine": a request about the customer's own order ("can I return this lamp?").
_OWN = re.compile(r"\b(my|this|it|these|them|order|pesanan|pesananku|orderan|saya|aku|mi|mis|este|esta|pedido|lo|la)\b")


def requested_action(text: str) -> ActionKind | None:
    """The action a message asks for, or None (no action verb, or a question about the rules)."""
    plain = _plain(text)
    if _QUESTION.search(plain) and not re.search(r"\b(i want|i need|i d like|quiero|mau|ingin|pengen)\b", plain):
        return None
    for kind, pattern in _ACTION_PATTERNS:
        if pattern.search(plain):
            if kind == "change_items" and not re.search(
                r"\b(change|switch|swap|different|another|other|smaller|bigger|larger|instead|ganti|ubah|tukar|"
                r"cambiar|cambia|cambio|otra|otro|diferente|en vez|mas grande|mas pequen\w*)\b",
                plain,
            ):
                continue  # "what colours does the lamp come in?" names a colour, asks for nothing
            if kind == "return" and re.search(r"\b(where|when|status|kapan|mana|donde|cuando)\b", plain):
                continue  # "where is my refund?" asks about one
            return kind
    return None


_YES = frozenset(
    """yes yess yesss yeah yea yep yup y ok okay okey k kk sure confirm confirmed confirmo go please correct right
    absolutely definitely ya yaa iya iyaa iye yoi oke okee boleh betul benar setuju lanjut lanjutkan gas siap
    si sii claro vale dale adelante correcto perfecto hazlo confirma confirmado ok""".split()
)
_NOT = frozenset(
    """no nope nah not dont don t wait stop hold never keep cancel instead actually hmm maybe unsure but
    tidak tdk gak ga nggak enggak jangan tunggu bentar batal belum kayaknya mungkin
    espera esperar mejor nunca quizas quiza todavia aun pero""".split()
)


def says_yes(text: str) -> bool:
    """An explicit yes to the change the bot stated ("yes", "yep go ahead", "ya lanjut", "sí, adelante",
    "dale"): it starts with a yes, says nothing against it and is short. "ok I guess?", "yes but wait",
    "no" and anything else are not a yes."""
    words = _words(text)
    if not words or len(words) > 12 or "?" in text:
        return False
    return words[0] in _YES and not any(w in _NOT for w in words[1:])


_ORDINALS = {
    1: ("first", "1st", "pertama", "primero", "primera"),
    2: ("second", "2nd", "kedua", "segundo", "segunda", "two", "dua", "dos"),
    3: ("third", "3rd", "ketiga", "tercero", "tercera", "three", "tiga", "tres"),
    4: ("fourth", "4th", "keempat", "cuarto", "cuarta", "four", "empat", "cuatro"),
    5: ("fifth", "5th", "kelima", "quinto", "quinta", "five", "cinco"),
}
_ALL = frozenset({"all", "both", "everything", "semua", "semuanya", "dua2nya", "keduanya", "todos", "todas", "ambos",
                  "ambas", "todo"})  # fmt: skip


def chosen_numbers(text: str, count: int) -> list[int]:
    """The 1-based choices a reply picks from a numbered list of `count`: "2", "1 and 3", "the second",
    "yang kedua", "la primera", "all"; [] when it names none."""
    words = _words(text)
    if any(w in _ALL for w in words):
        return list(range(1, count + 1))
    numbers = [int(w) for w in words if w.isdigit() and 1 <= int(w) <= count and len(words) <= 8]
    if numbers:
        return list(dict.fromkeys(numbers))
    picked = [n for n, names in _ORDINALS.items() if n <= count and any(w in names for w in words)]
    return picked if len(words) <= 6 else []


def matching_choices(text: str, labels: Sequence[str]) -> list[int]:
    """The 1-based choices whose label words the reply names ("the white one", "talla L", "king"):
    the choices sharing the most distinctive words with it; [] when none or a tie across all."""
    said = set(_words(text))
    scores = []
    for label in labels:
        distinctive = set(_words(label)) - _COMMON
        scores.append(len(said & distinctive))
    best = max(scores, default=0)
    if best == 0:
        return []
    winners = [i + 1 for i, s in enumerate(scores) if s == best]
    return winners if len(winners) < len(labels) or len(labels) == 1 else []


# Words every label may share ("size", currency codes, prices): they tell choices apart from nothing.
_COMMON = frozenset({"size", "colour", "color", "the", "one", "usd", "idr", "eur", "order", "a", "in", "de", "el",
                     "la", "yang", "warna", "ukuran", "talla"})  # fmt: skip

# Everyday ways of giving each of the demo policy's reasons; a shop's own reasons are matched by their words.
_REASON_WORDS = {
    "ordered by mistake": re.compile(
        r"\b(mistake|mistakenly|accident\w*|by error|wrong|salah|keliru|ga sengaja|gak sengaja|tidak sengaja|"
        r"kepencet|error|equivo(?:c|qu)\w*|sin querer|por error)\b"
    ),
    "no longer needed": re.compile(
        r"\b(no longer|not needed|don t need|dont need|do not need|changed my mind|found (it )?cheaper|"
        r"tidak perlu|gak perlu|ga perlu|nggak perlu|tidak butuh|gak butuh|ga butuh|ga jadi|gak jadi|"
        r"berubah pikiran|ya no|no lo necesito|no la necesito|ya no lo quiero|cambie de opinion|no me hace falta)\b"
    ),
}


def cancel_reason(text: str, reasons: Sequence[str]) -> str | None:
    """The policy reason a message gives for cancelling, verbatim, or None."""
    plain = " ".join(_words(text))
    for reason in reasons:
        pattern = _REASON_WORDS.get(reason.lower())
        if pattern is not None and pattern.search(plain):
            return reason
    matched = matching_choices(text, reasons)
    return reasons[matched[0] - 1] if len(matched) == 1 else None


_GIFT_CARD = re.compile(r"\b(gift ?card|giftcard|voucher|store credit|credit|kartu hadiah|saldo|tarjeta (de )?regalo|"
                        r"vale|credito|cheque regalo)\b")  # fmt: skip
_ORIGINAL = re.compile(r"\b(original|same (card|method|way)|my card|back to (my|the) (card|account|paypal)|card|paypal|"
                       r"bank|transfer|rekening|kartu kredit|metode (asli|awal|yang sama)|tarjeta|cuenta|mismo metodo|"
                       r"metodo original)\b")  # fmt: skip


def refund_preference(text: str) -> str | None:
    """ "gift_card" or "original" when a message says where a refund should go, else None."""
    plain = " ".join(_words(text))
    if _GIFT_CARD.search(plain):
        return "gift_card"
    if _ORIGINAL.search(plain):
        return "original"
    return None


_ZIP = re.compile(r"^[A-Za-z]{0,2}\s?\d[\dA-Za-z -]{2,9}$")


def parse_address(text: str) -> Address | None:
    """An address written on one line, "street and number, [apartment,] city, [state,] postcode, country"
    (the bot asks for it so); None when it cannot be read as one. The customer sees it back in the
    confirmation, so a misread is caught before anything changes."""
    parts = [p.strip(" .") for p in re.split(r"[,\n;]+", text.strip()) if p.strip(" .")]
    if len(parts) < 4:
        return None
    zip_at = next((i for i in range(len(parts) - 1, 1, -1) if _ZIP.match(parts[i])), None)
    if zip_at is None:
        return None
    country = parts[zip_at + 1] if zip_at + 1 < len(parts) else None
    if country is None or not re.search(r"[^\W\d]", country):
        return None
    before = parts[:zip_at]  # street, [apartment], city, [state]
    street, rest = before[0], before[1:]
    if not re.search(r"\d", street) and rest and re.search(r"\d", rest[0]):
        street, rest = f"{street} {rest[0]}", rest[1:]
    if not rest:
        return None
    if len(rest) == 1:
        line2, city, state = None, rest[0], None
    elif len(rest) == 2:
        # "Apt 4, Austin" or "Austin, TX": a short second part reads as a state.
        short = len(rest[1]) <= 3 or rest[1].isupper()
        line2, city, state = (None, rest[0], rest[1]) if short else (rest[0], rest[1], None)
    else:
        line2, city, state = ", ".join(rest[:-2]), rest[-2], rest[-1]
    return Address(line1=street, line2=line2, city=city, state=state, zip=parts[zip_at], country=country)
