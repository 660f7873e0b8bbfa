"""Chat spelling read as the words it stands for, before the lexical models see a message.

Customers write "sy udh bayar tp blm dikirim", "q paso con mi pedido xq no llega", "can u check ur
system pls": the words the training examples spell out in full ("saya sudah", "que", "porque",
"you", "your", "please") would otherwise be different tokens, and each shorthand would have to be
learned from examples of its own. Accents go too ("envío" and "envio" are one word to a customer
typing on a phone).

The table holds common shorthand of chat in English, Indonesian and Spanish (and a few colloquial
forms: "gimana", "udah", "makasih"), written from what those languages' chat writers use, not from
any evaluation set; only whole tokens that mean one thing in all three languages are expanded
("k", "d", "x", "bs", "dr", "lg", "tp" or "min" are left alone: ok or que, bullshit or bisa,
doctor or dari, a brand or lagi).
"""

from __future__ import annotations

import re
import unicodedata

_SHORTHAND: dict[str, str] = {
    # English
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "tnx": "thanks",
    "ty": "thank you",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "idk": "i do not know",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "pkg": "package",
    "rcvd": "received",
    "pwd": "password",
    "acct": "account",
    "addr": "address",
    "msg": "message",
    "tmrw": "tomorrow",
    "2day": "today",
    "asap": "as soon as possible",
    # Indonesian
    "sy": "saya",
    "sya": "saya",
    "gmn": "bagaimana",
    "gmna": "bagaimana",
    "gimana": "bagaimana",
    "bgmn": "bagaimana",
    "udh": "sudah",
    "udah": "sudah",
    "sdh": "sudah",
    "blm": "belum",
    "blom": "belum",
    "brp": "berapa",
    "brapa": "berapa",
    "tdk": "tidak",
    "gak": "tidak",
    "ga": "tidak",
    "gk": "tidak",
    "nggak": "tidak",
    "ngga": "tidak",
    "engga": "tidak",
    "enggak": "tidak",
    "yg": "yang",
    "dgn": "dengan",
    "krn": "karena",
    "karna": "karena",
    "bsa": "bisa",
    "kpn": "kapan",
    "jg": "juga",
    "utk": "untuk",
    "aja": "saja",
    "klo": "kalau",
    "kalo": "kalau",
    "knp": "kenapa",
    "trs": "terus",
    "pake": "pakai",
    "bgt": "banget",
    "dmn": "dimana",
    "sampe": "sampai",
    "emg": "memang",
    "ongkir": "ongkos kirim",
    "mksh": "terima kasih",
    "makasih": "terima kasih",
    "trims": "terima kasih",
    # Spanish
    "q": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "porfa": "por favor",
    "xfa": "por favor",
    "xfavor": "por favor",
    "tmb": "tambien",
    "tb": "tambien",
    "tmbn": "tambien",
    "xa": "para",
    "dnd": "donde",
    "cdo": "cuando",
    "msj": "mensaje",
    "bn": "bien",
    "ntp": "no te preocupes",
}

_TOKEN = re.compile(r"\w+", re.UNICODE)


def fold_accents(text: str) -> str:
    """ "envío" → "envio", "devolución" → "devolucion" ("ñ" becomes "n" too: typed phones drop it as well)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spelled_out(text: str) -> str:
    """`text` (already lower-cased) with accents folded and chat shorthand written out."""
    return _TOKEN.sub(lambda m: _SHORTHAND.get(m.group(0), m.group(0)), fold_accents(text))
