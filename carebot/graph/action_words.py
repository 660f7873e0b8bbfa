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

from carebot.domain import ORDER_NUMBER
from carebot.shop.records import ActionKind, Address


def plain_text(text: str) -> str:
    """Lower case without accents: "Sí, cancélalo" → "si, cancelalo"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", plain_text(text))


# Verbs and cues of each action (accents stripped). A variant change on a delivered order becomes an
# exchange, an exchange asked for on an order not yet shipped a change of items: the order's status decides.
_CANCEL = re.compile(r"\b(cancel\w*|\w*batal\w*|cancela\w*|anula\w*|anulen)\b")
_RETURN = re.compile(
    r"\b(return|returning|returned|send (it|this|them) back|send back|money back|retur\w*|dikembalikan|"
    r"kembalikan|kembaliin|mengembalikan|ngembaliin|ngembalikan|balikin|dibalikin|pengembalian|devolver\w*|"
    r"devuelv\w*|devoluci\w*|reembols\w*|refund)\b"
)
_EXCHANGE = re.compile(r"\b(exchange|exchanging|tukar\w*|tuker\w*|ditukar|menukar\w*|nukar\w*|penukaran|intercambi\w*|"
                       r"cambiarl[oa]s? por|cambio por)\b")  # fmt: skip
_CHANGE = re.compile(
    r"\b(change|changing|switch|swap|replace|update|edit|correct|fix|modify|ganti\w*|diganti|ubah|diubah|mengubah|"
    r"perbarui|cambi\w*|modific\w*|actualiz\w*|corregir|get (it|one|the \w+|an? \w+) in)\b"
)
# An address change: the word "address" with a change or wrong/new word, or a sending verb leading to a
# new place or a street ("send order E2005 to 77 Beacon St", "mándenla a Av. Reforma 222") — not
# "do you deliver to Bali?".
_ADDRESS = re.compile(r"\b(address|adress|addres|alamat|direcci\w*|domicilio)\b")
_SEND_TO = re.compile(
    r"\b(send|ship|deliver|mand|envi|kirim)\w*( \w+){0,5} (to|a|al|ke) (my |the |mi |la |el )?"
    r"(new|nueva|nuevo|baru|another|otra|otro|different|lain|(\S+ ){0,6}\S*\d)"
)
_MOVED = re.compile(r"\b(moved|moving|pindah|mudanza|me mud\w*)\b")
# Something to change an item into: an option word, a size, "instead", "to a …", "jadi", "yang …".
_VARIANT_CUE = re.compile(
    r"\b(size|sizes|colou?r|ukuran\w*|warna\w*|talla|tamano|model|varian\w*|variant|tipe|type|version|versi|"
    r"instead|en vez|en lugar|smaller|bigger|larger|tight|loose|medium|small|large|mediana|grande|pequen\w*|chic[ao]|"
    r"medida|otro|otra|another|other|lain|"
    r"kecil|besar|kekecilan|kebesaran|sempit|xs|s|m|l|xl|xxl|jadi|yang|to an?|for an?|in \w+|a (la|una|un) \w+|"
    r"por (la|una|un) \w+|ke \w+|to the \w+|the \w+ one)\b"
)
# Questions about the rules, not requests: the help centre answers them.
_QUESTION = re.compile(
    r"\b(how (do|does|can|long|much|many)|what (is|s|are)|whats|policy|policies|when (will|do|does)|do you|"
    r"who (pays|covers)|quien (paga|cubre)|siapa yang (bayar|tanggung)|^como|"
    r"bagaimana|gimana cara|caranya|berapa (lama|hari)|kebijakan|como (puedo|se|funciona|hago)|"
    r"cual es|cuanto (tiempo|tarda)|cuantos dias|plazo|politica|se puede|"
    r"can (i|you|we) (return|cancel|exchange|change) (sale|items|things|products|an? (sale|used|worn|opened|final)))\b"
)
_WRONG_OR_NEW = re.compile(r"\b(new|baru|nueva|nuevo|wrong|salah|keliru|incorrect\w*|equivo(?:c|qu)\w*|mal)\b")
_RECEIVED = re.compile(r"\b(received|got it|arrived|came|recibi\w*|me llego|llego|diterima|sampai|nyampe|datang)\b")
# Asking for something ("I want to return…"), but not asking to be told ("I want to know where…").
_WANT = re.compile(
    r"\b(i want|i need|i d like|i would like|quiero|necesito|mau|ingin|pengen|pingin|tolong|please)\b"
    r"(?! (to know|saber|tanya|tahu|tau)\b)"
)
_ASKS_ABOUT = re.compile(r"\b(where|when|status|kapan|mana|donde|cuando|sudah sampai)\b")


# "return" as a noun ("return shipping", "the return label") names no request.
_RETURN_NOUN = re.compile(r"\breturns? (shipping|label|labels|policy|fee|fees|window|address|costs?|process|period)\b")


# Questions about how things work that no "I want" turns into a request: "kalau mau retur gimana caranya?",
# "is there a fee for returns?", "¿la devolución tiene costo?"; and "can I return a mattress?",
# "¿puedo devolver un producto rebajado?" — a kind of thing, not the customer's own.
_HOW_OR_COST = re.compile(
    r"\b(how do i|how can i|gimana caranya|caranya|cara (retur|return|batal|tukar|ganti|cancel|refund)|"
    r"bagaimana cara|como (hago|puedo|se)|is there|are there|any (fee|charge|cost)|fee|fees|costo|coste|"
    r"cobran|biaya|ongkos)\b"
)
_KIND_OF_THING = re.compile(
    r"^(can|could|may|do|puedo|podria|se puede|bisa|boleh)\b.*\b(return|cancel|exchange|change|devolver|cancelar|"
    r"cambiar|retur|tukar|batalkan) (an?|any|un|una|unos|unas|barang|produk|items|products|things) \w+"
)


# Asking how or where to do something oneself ("how do i follow my delivery", "where can i see where
# my parcel is", "¿dónde puedo ver mi pedido?", "gimana cara lacak paket"): a question the help centre
# answers for any order, whichever the customer means.
_HOW_TO = re.compile(
    r"\b(how (do|can|could|would|should) (i|we|you)|how to|where (can|do|could|would|should) (i|we)|"
    r"is there (a|any) way|(is there|do you have|have you got) (a|an|any) (link|page|app|tracker|tracking \w+)|"
    r"(can|could) i (see|check|track|trace|follow|find|view|know)|"
    r"como (puedo|podemos|hago|se puede|veo|sigo|rastreo|reviso|consulto|se)|donde (puedo|podemos|veo|se puede)|"
    r"(hay|existe) (alguna )?(forma|manera) de|se puede (ver|rastrear|seguir|consultar|revisar)|"
    r"(gimana|gmn|bagaimana) (cara|caranya)|cara(nya)? (cek|ngecek|mengecek|lacak|melacak|lihat|melihat|liat|"
    r"pantau|memantau|tracking|track)|(di ?mana|dmn) (bisa|saya bisa|aku bisa|sy bisa))\b"
)


def asks_how_to(text: str) -> bool:
    """Whether the message asks how or where to do something, rather than about one thing."""
    return _HOW_TO.search(" ".join(_words(text.lstrip("¿¡ ")))) is not None


def requested_action(text: str) -> ActionKind | None:
    """The action a message asks for, or None (no action verb, or a question about the rules)."""
    plain = _RETURN_NOUN.sub(" ", " ".join(_words(text.lstrip("¿¡ "))))
    if _QUESTION.search(plain) and not _WANT.search(plain):
        return None
    own = ORDER_NUMBER.search(text) or re.search(r"\b(my|mi|mis|saya|aku|ku)\b", plain)
    if (_HOW_OR_COST.search(plain) and not ORDER_NUMBER.search(text)) or (_KIND_OF_THING.search(plain) and not own):
        return None
    if (_ADDRESS.search(plain) and (_CHANGE.search(plain) or _WRONG_OR_NEW.search(plain))) or _SEND_TO.search(plain):
        return "change_address"
    if _MOVED.search(plain) and (_CHANGE.search(plain) or ORDER_NUMBER.search(text)):
        return "change_address"  # "I moved, can you change where my order ships?"
    if _CANCEL.search(plain):
        return "cancel"
    if _EXCHANGE.search(plain):
        return "exchange"
    variant_change = _variant_change(text, plain)
    # "where is my refund?" asks about one; "refund the difference to my bank" in a colour change is about
    # the difference, not a return.
    only_refund = not _RETURN.search(re.sub(r"\b(refund|reembols\w*)\b", "", plain))
    asked_for = not only_refund or _WANT.search(plain) or ORDER_NUMBER.search(text)
    asks_about = _ASKS_ABOUT.search(plain) and not _WANT.search(plain)
    if _RETURN.search(plain) and asked_for and not asks_about and not (variant_change and only_refund):
        return "return"  # "refund times?" asks about refunds; "I want a refund for the lamp" asks for one
    if variant_change:
        # A different size for something that came ("que recibí", "sudah sampai") is an exchange.
        return "exchange" if _RECEIVED.search(plain) else "change_items"
    return None


def _variant_change(text: str, plain: str) -> bool:
    """Whether a message asks for another variant: a change verb with something to change to, "instead",
    or an order number with a size or colour ("#E2032 sudadera en XL porfa")."""
    if _CHANGE.search(plain) and _VARIANT_CUE.search(plain):
        return True
    if re.search(r"\b(instead|en vez|en lugar)\b", plain):
        return True  # "could I get the lamp in sage instead"
    return bool(ORDER_NUMBER.search(text)) and bool(
        re.search(r"\b(size|colou?r|ukuran|warna|talla|tamano|medida|xs|s|m|l|xl|xxl)\b", plain)
        or (_CHANGE.search(plain) and re.search(r"\b(to|ke|jadi|a) \w+", plain))
    )


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
    2: ("second", "2nd", "kedua", "segundo", "segunda"),
    3: ("third", "3rd", "ketiga", "tercero", "tercera"),
    4: ("fourth", "4th", "keempat", "cuarto", "cuarta"),
    5: ("fifth", "5th", "kelima", "quinto", "quinta"),
}
_ALL = frozenset({"all", "both", "everything", "whole", "semua", "semuanya", "dua2nya", "duanya", "keduanya",
                  "todos", "todas", "ambos", "ambas", "todo", "completo", "completa", "entero", "entera"})  # fmt: skip


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
    said = set(_wanted_words(_expand(text)))
    scores = []
    for label in labels:
        distinctive = set(_words(label)) - _COMMON
        scores.append(len(said & distinctive))
    best = max(scores, default=0)
    if best == 0:
        return []
    winners = [i + 1 for i, s in enumerate(scores) if s == best]
    return winners if len(winners) < len(labels) or len(labels) == 1 else []


# Words that exclude what they stand next to: "not the blanket", "selimut engga", "sin la manta", "kecuali …".
_EXCLUDING_AFTER = frozenset({"not", "except", "kecuali", "sin", "menos", "excepto", "bukan"})
_EXCLUDING_BEFORE = frozenset({"engga", "enggak", "nggak", "gak", "ga", "tidak", "no", "jangan"})


def _wanted_words(text: str) -> list[str]:
    """The words of a reply but those it excludes ("the mugs, not the blanket" → mugs)."""
    words = text.split()
    dropped: set[int] = set()
    for i, word in enumerate(words):
        if word in _EXCLUDING_AFTER:
            dropped.update(range(i + 1, min(i + 3, len(words))))
        elif word in _EXCLUDING_BEFORE and i > 0:
            dropped.add(i - 1)
    return [w for i, w in enumerate(words) if i not in dropped]


_QUANTITIES = {"2": 2, "two": 2, "dua": 2, "dos": 2, "3": 3, "three": 3, "tiga": 3, "tres": 3}


def quantity(text: str) -> int | None:
    """How many of a thing a reply names ("2 mugs", "dua mug", "las dos tazas"), if it says."""
    return next((_QUANTITIES[w] for w in _words(text) if w in _QUANTITIES), None)


def matching_words(text: str) -> list[str]:
    """A text's words as choices are matched on: in English where the glossary knows them, minus excluded ones."""
    return _wanted_words(_expand(text))


def says_all(text: str) -> bool:
    """ "all of it", "both", "semuanya", "todo": every choice."""
    return any(w in _ALL for w in _words(text))


def _stem(word: str) -> str:
    """Indonesian possessive and definite endings off ("lampunya" → "lampu", "kaosku" → "kaos")."""
    for suffix in ("nya", "ku", "mu"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)]
    return word


# What customers call a payment method, as its label says it.
_ALIASES = {"amex": "american express", "mc": "mastercard", "master": "mastercard", "pp": "paypal",
            "tf": "transfer", "transferencia": "transfer bank", "rekening": "bank"}  # fmt: skip
# Indonesian and Spanish words for the options and everyday goods a shop's catalogue names in English
# ("kaos hitam" is the black tee, "la sudadera talla M" the hoodie in M): a customer picks a line or a
# variant in their own words. A shop whose catalogue speaks their language needs none of this.
_GLOSSARY = {
    **dict.fromkeys(("hitam", "negro", "negra"), "black"), **dict.fromkeys(("putih", "blanco", "blanca"), "white"),
    **dict.fromkeys(("abu", "abu2", "gris"), "grey"), "gray": "grey", **dict.fromkeys(("biru", "azul"), "blue"),
    **dict.fromkeys(("merah", "rojo", "roja"), "red"), **dict.fromkeys(("hijau", "verde"), "green"),
    **dict.fromkeys(("kuning", "amarillo", "amarilla"), "yellow"), **dict.fromkeys(("coklat", "marron"), "brown"),
    **dict.fromkeys(("krem", "crema"), "cream"), **dict.fromkeys(("dongker", "marino"), "navy"),
    **dict.fromkeys(("emas", "dorado", "kuningan", "laton"), "brass"),
    **dict.fromkeys(("kulit", "cuero", "piel"), "leather"),
    **dict.fromkeys(("jaring", "malla"), "mesh"),
    # "a medium" names a size; "too small", "me queda chica", "kebesaran" say what is wrong with the one they have.
    **dict.fromkeys(("medium", "sedang", "mediana", "mediano"), "m"),
    **dict.fromkeys(("lampu", "lampara"), "lamp"),
    **dict.fromkeys(("kaos", "camiseta", "playera", "tshirt", "shirt"), "tee"),
    **dict.fromkeys(("sudadera", "jaket", "hoodienya"), "hoodie"), **dict.fromkeys(("kursi", "silla"), "chair"),
    **dict.fromkeys(("taza", "cangkir", "gelas"), "mug"), **dict.fromkeys(("selimut", "manta"), "blanket"),
    **dict.fromkeys(("sarung", "funda"), "cover"), **dict.fromkeys(("botol", "botella"), "bottle"),
    **dict.fromkeys(("meja", "escritorio"), "desk"), **dict.fromkeys(("sprei", "sabana", "sabanas"), "sheet"),
    **dict.fromkeys(("karpet", "alfombra"), "rug"), **dict.fromkeys(("lilin", "vela"), "candle"),
    **dict.fromkeys(("handuk", "toalla", "toallas"), "towel"), **dict.fromkeys(("ketel", "hervidor"), "kettle"),
}  # fmt: skip


def _expand(text: str) -> str:
    return " ".join(_english(_stem(w)) for w in _words(text))


def _english(word: str) -> str:
    """A customer's word as the catalogue would say it ("camisetas" → "tee"), or the word itself."""
    for form in (word, word[:-1] if word.endswith("s") else word, word[:-2] if word.endswith("es") else word):
        if form in _GLOSSARY or form in _ALIASES:
            return _GLOSSARY.get(form) or _ALIASES[form]
    return word


# Words every label may share, or any message has: they tell choices apart from nothing.
_COMMON = frozenset(
    """size colour color the one usd idr eur order a an in of to and my it de el la los las del en y un una yang
    warna ukuran talla tidak saya aku ini itu dan di ke dari untuk ya no si yes card kartu tarjeta ending
    terminada""".split()
)

# Everyday ways of giving each of the demo policy's reasons; a shop's own reasons are matched by their words.
_REASON_WORDS = {
    "ordered by mistake": re.compile(
        r"\b(mistake|mistakenly|accident\w*|by error|wrong|salah|keliru|ga sengaja|gak sengaja|tidak sengaja|"
        r"nggak sengaja|kepencet|kepesen|error|equivo(?:c|qu)\w*|sin querer|por error)\b"
    ),
    "no longer needed": re.compile(
        r"\b(no longer|not needed|(don t|dont|do not|not) (really |even )?need|need it anymore|changed my mind|"
        r"found (it )?cheaper|(tidak|tdk|gak|ga|nggak|gk|udah gak|sudah tidak) (\w+ )?(jadi|perlu|butuh\w*|usah|mau)|"
        r"berubah pikiran|ya no|"
        r"no (lo|la|los|las) necesito|no (lo|la) quiero|cambie de opinion|no me hace falta|ya no me sirve)\b"
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


_GIFT_CARD = re.compile(r"\b(gift ?card|giftcard|voucher|store credit|kartu hadiah|saldo|tarjeta (de )?regalo|"
                        r"vale|cheque regalo)\b")  # fmt: skip
_ORIGINAL = re.compile(r"\b(original|same (card|method|way)|my card|back to (my|the) (card|account|paypal)|card|"
                       r"kartu|kartu kredit|metode (asli|awal|yang sama)|pembayaran awal|tarjeta|tarjeta de credito|"
                       r"mismo metodo|metodo original|pago original)\b")  # fmt: skip


def refund_preference(text: str) -> str | None:
    """ "gift_card" or "original" when a message says where a refund should go, else None."""
    plain = " ".join(_words(text))
    if _GIFT_CARD.search(plain):
        return "gift_card"
    if _ORIGINAL.search(plain):
        return "original"
    return None


_ZIP = re.compile(r"^[A-Za-z]{0,2}\s?\d[\dA-Za-z -]{2,9}$")
# Polite words customers end a message with ("…, Spain pls", "…, México xfa").
_TRAILING = re.compile(r"(\s+(pls|plz|please|thanks|thank you|thx|ty|xfa|porfa|por favor|gracias|ya|kak|makasih|"
                       r"terima kasih|ok|okay))+\W*$", re.IGNORECASE)  # fmt: skip
# Where the address starts in a sentence that leads to it ("… to 31 Orchard Rd", "… ke Jl. …", "… a: Calle …").
_LEADS_TO = re.compile(r"^.*(?:\s(?:to|ke|a|al|en)\s*:?|:)\s+(?=\S)", re.IGNORECASE)
# An apartment, unit or floor line ("Apt 4", "Unit 12", "4º Izquierda", "Apartemen …", "Depto 5").
_APARTMENT = re.compile(r"\b(apt|apartment|unit|suite|ste|floor|fl|piso|depto|dpto|departamento|apartemen\w*|lantai|"
                        r"blok|tower|torre|puerta|bloque)\b|\d\s*[ºª°]|#\s?\d", re.IGNORECASE)  # fmt: skip


def parse_address(text: str) -> Address | None:
    """An address written on one line, "street and number, [apartment,] city, [state,] postcode, country"
    (the bot asks for it so), possibly after words leading to it ("please send it to …"); None when it
    cannot be read as one. The customer sees it back in the confirmation, so a misread is caught
    before anything changes."""
    parts = [p.strip(" .") for p in re.split(r"[,\n;]+", text.strip()) if p.strip(" .")]
    if len(parts) < 4:
        return None
    parts[-1] = _TRAILING.sub("", parts[-1]).strip(" .") or parts[-1]
    zip_at = next((i for i in range(len(parts) - 1, 1, -1) if _ZIP.match(parts[i])), None)
    if zip_at is None or zip_at + 1 >= len(parts) or not re.search(r"[^\W\d]", parts[zip_at + 1]):
        return None
    street_at = next((i for i in range(zip_at) if re.search(r"\d", parts[i])), 0)
    street = _LEADS_TO.sub("", parts[street_at]).strip() or parts[street_at]
    street = re.split(r"[?!:]\s+", street)[-1]  # "… to my new place instead? 77 Beacon St"
    rest = parts[street_at + 1 : zip_at]  # [apartment], city, [state]
    if not rest:
        return None
    if len(rest) == 1:
        line2, city, state = None, rest[0], None
    elif len(rest) == 2:
        line2, city, state = (rest[0], rest[1], None) if _APARTMENT.search(rest[0]) else (None, rest[0], rest[1])
    else:
        line2, city, state = ", ".join(rest[:-2]), rest[-2], rest[-1]
    return Address(line1=street, line2=line2, city=city, state=state, zip=parts[zip_at], country=parts[zip_at + 1])
