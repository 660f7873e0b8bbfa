"""Answering "do you have the oak desk lamp in white?" from the shop's catalogue: which variants are in
stock and what they cost. Only questions about a product's variants, availability or price come here;
everything else about products (care, warranty, spare parts, restocks) is the help centre's."""

from __future__ import annotations

import re
from decimal import Decimal

from carebot.graph.action_words import matching_choices, matching_words, plain_text
from carebot.phrases import phrase
from carebot.shop.records import Product, Variant

# What a catalogue question sounds like (accents stripped): availability, options, price.
_ASKS_CATALOGUE = re.compile(
    r"\b(do you (have|sell|carry|stock)|have you got|available|availability|in stock|come in|comes in|"
    r"what (colou?rs|sizes)|which (colou?rs|sizes)|how much (is|are|does|for)|price|prices|"
    r"ada (warna|ukuran|yang|gak|nggak|ga)|tersedia|ready|warna apa|ukuran apa|harga\w*|berapa harga|"
    r"tienen|tiene en|hay .{1,30} en|disponible\w*|viene en|vienen en|que (colores|tallas)|"
    r"cuanto (cuesta|vale|cuestan)|precio\w*)\b"
)
# Not a catalogue question: restocks, spare parts, care and warranty.
_NOT_CATALOGUE = re.compile(
    r"\b(when|back in|restock|replacement|spare|part|parts|warranty|clean|wash|kapan|lagi|suku cadang|garansi|"
    r"cuando|vuelve|repuesto\w*|garantia|limpi\w*|ship\w*|deliver\w*|express|envio\w*|entrega|ongkir|"
    r"pengiriman|kirim|dimension\w*|measure\w*|medidas|material\w*)\b"
)


def asks_catalogue(text: str) -> bool:
    """Whether a message asks which variants of a product exist, are in stock, or cost."""
    plain = plain_text(text)
    return bool(_ASKS_CATALOGUE.search(plain)) and not _NOT_CATALOGUE.search(plain)


def products_named(text: str, products: dict[str, Product]) -> list[Product]:
    """The catalogue's products a message names ("the oak desk lamp", "la lámpara"), best first."""
    catalogue = list(products.values())
    picked = matching_choices(text, [p.name for p in catalogue])
    return [catalogue[n - 1] for n in picked]


def catalogue_answer(text: str, found: list[Product], *, language: str, currency: str) -> str:
    """The in-stock variants and prices of the product asked about, and whether the option named is one."""
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:5])
        return phrase(language, "catalogue_which", names=names)
    product = found[0]
    in_stock = [v for v in product.variants if v.available]
    listing = "; ".join(f"{v.describe()} — {_price(v.price, currency)}" for v in in_stock)
    asked = _variant_asked(text, product)
    if asked is None:
        key = "catalogue_in_stock" if in_stock else "catalogue_none_in_stock"
        return phrase(language, key, product=product.name, variants=listing)
    option = asked.describe()
    if asked.available:
        return phrase(language, "catalogue_yes", product=product.name, option=option,
                      price=_price(asked.price, currency), variants=listing)  # fmt: skip
    key = "catalogue_out_of_stock" if in_stock else "catalogue_none_in_stock"
    return phrase(language, key, product=product.name, option=option, variants=listing)


def _variant_asked(text: str, product: Product) -> Variant | None:
    """The variant the message names most options of ("in white", "talla L", "the black 750ml"), if one."""
    said = set(matching_words(text))
    scores = [sum(set(matching_words(value)) <= said for value in v.options.values()) for v in product.variants]
    best = max(scores, default=0)
    named = [v for v, score in zip(product.variants, scores, strict=True) if score == best]
    return named[0] if best > 0 and len(named) == 1 else None


def _price(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"
