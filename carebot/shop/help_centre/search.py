"""Knowledge-base search over the shop's help centre, stored in Postgres."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from carebot.db.pool import Pool
from carebot.domain import Passage

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.retrievers import BaseRetriever

# Postgres text-search configuration per customer language; `simple` for anything else.
TS_CONFIGS = {"en": "english", "id": "indonesian", "es": "spanish"}

# Words that make a message a question but say nothing about its topic, removed before
# searching. Postgres' indonesian configuration stems but has no stop-word list at all, and the
# english and spanish ones keep question words ("cuánto" would match "en cuanto tu pedido sale").
_QUESTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "how long take takes what when where which who why can could would will do does did get got something anything "
        "please hi hello thanks want need know tell me my i you your".split()
    ),
    "id": frozenset(
        "saya aku kamu anda apa apakah ke di dari yang dan ini itu kak min admin dong ya bisa mau "
        "gimana bagaimana berapa ada tidak nggak gak ga kok sih deh untuk dengan pada sudah udah "
        "belum blm tolong mohon minta kalau jika atau juga lagi nya".split()
    ),
    "es": frozenset(
        "cuánto cuanto cuánta cuanta cuántos cuantos cuántas cuantas cuándo cuando dónde donde cómo como "
        "qué que cuál cual cuáles puedo puede pueden quiero necesito hola gracias favor tengo mi mis me".split()
    ),
}
_WORD = re.compile(r"\w+", re.UNICODE)


# Spoken Indonesian ends verbs in -in where the written language (and Postgres' stemmer) uses -kan:
# "batalin" is "batalkan" (cancel), "dibalikin" is "dibalikkan" (sent back). Words that merely end
# in -in are kept as they are.
_COLLOQUIAL_VERB = re.compile(r"(?<=[^aiueo\W])in$")
_ENDS_IN_IN = frozenset(
    "ingin mungkin kemarin dingin yakin miskin angin cincin izin ijin bensin vitamin admin login online "
    "margin mesin kain main lain cermin lilin musim kambing domain latin".split()
)


def _written_indonesian(word: str) -> str:
    if len(word) <= 5 or word in _ENDS_IN_IN:
        return word
    return _COLLOQUIAL_VERB.sub("kan", word)


def topic_words(query: str, language: str) -> str:
    """The query without its question words (the text Postgres then parses and stems)."""
    stop = _QUESTION_WORDS.get(language, frozenset())
    words = [w for w in _WORD.findall(query.lower()[:2000]) if w not in stop]
    if language == "id":
        words = [_written_indonesian(w) for w in words]
    return " ".join(words)


# Query expansion: customers name a problem or ask about a place in words a help centre rarely
# uses ("smashed", "never got it", "to Bali", "how much"); each pattern adds the words the
# help centre's own wording would use, for both searches. The first ones name a problem with an
# item (damaged, never received, or not the one ordered): the help centre's policy on it is worth saying even while
# the order itself waits for the customer to verify (`names_item_problem`).
# Per language: a pattern of the customer's words, and the help centre's words for what it names.
_WordRules = dict[str, tuple[tuple[re.Pattern[str], str], ...]]

_ITEM_PROBLEMS: _WordRules = {
    "en": (
        (re.compile(r"\b(broke|broken|smashed|cracked|shattered|dented|crushed|torn|damage\w*)\b"), "damaged"),
        (
            re.compile(
                r"\b(never (got|came|arrived|received|showed up|turned up)|not (arrived|received)|"
                r"didn.?t (get|arrive|receive|show up|turn up)|missing|lost|stolen|"
                r"(says|said|shows|showing|marked( as)?) delivered but|delivered but (nothing|not|never|no)|"
                r"nothing (at|on|by) (my|the) (door|doorstep|porch))\b"
            ),
            "parcel delivered not received missing",
        ),
        (
            re.compile(
                # Not "I ordered the wrong size": the customer's own choice is an exchange.
                r"\b(wrong (item|product|thing|parcel|package)|incorrect item|"
                r"(not|isn.?t) what i (ordered|bought|paid for)|"
                r"someone else.?s (stuff|things|order|parcel|package|item|items))\b|"
                r"\b(sent|got|received|came|arrived|delivered|gave)\b.{0,25}\b(wrong|instead of)\b"
            ),
            "wrong item received",
        ),
    ),
    "es": (
        (re.compile(r"\b(rot[oa]s?|quebrad[oa]s?|roto|estropead[oa]s?|dañad[oa]s?|golpead[oa]s?)\b"), "dañados"),
        (
            re.compile(r"\b(no (me )?(ha )?lleg\w*|nunca lleg\w*|perdid[oa]|extraviad[oa]|robad[oa])\b"),
            "paquete entregado no recibido",
        ),
        (
            re.compile(
                r"\b((art[ií]culo|producto|talla|color|modelo|pedido|uno|una) equivocad[oa]|"
                r"no es lo que (ped[ií]|compr[eé])|me (enviaron|mandaron) (otro|otra|uno equivocado|una equivocada))\b"
            ),
            "artículo equivocado recibiste",
        ),
    ),
    "id": (
        (re.compile(r"\b(pecah|retak|penyok|hancur|rusak)\b"), "rusak"),
        (re.compile(r"\b(belum (sampai|datang|diterima|terima)|tidak (sampai|datang)|hilang)\b"), "paket hilang"),
        (
            re.compile(
                r"\b(salah kirim|dikirim(in)? yang salah|(barang|barangnya|warna|warnanya|ukuran|ukurannya) "
                r"(salah|beda)|bukan yang (saya|aku|sy|gue|gw) (pesan|beli))\b"
            ),
            "barang salah",
        ),
    ),
}
# "Your site is broken" is trouble with the website, not a damaged item: read before the item rules.
_SITE_TROUBLE = re.compile(
    r"\b(site|website|web ?page|page|app|link|checkout|button|search|login|code)\s+"
    r"(is\s+|s\s+|seems\s+|looks\s+|keeps\s+|are\s+|went\s+|got\s+)?(broke|broken|crashed|crashing|down|dead)\b"
)
_EXPANSIONS: _WordRules = {
    "en": (
        (_SITE_TROUBLE, "website not working error"),
        *_ITEM_PROBLEMS["en"],
        (re.compile(r"\b(deliver|ship|send|post)\w*\s+(to|in)\s+(?!me\b|my\b|you\b)\w+"), "regions countries"),
        (re.compile(r"\bhow much\b|\bprice\b|\bexpensive\b"), "costs"),
        (re.compile(r"\b(log ?in|sign ?in|locked out)\b"), "password login"),
    ),
    "es": (
        *_ITEM_PROBLEMS["es"],
        (re.compile(r"\b(envi\w*|mand\w*|entreg\w*|lleg\w*)\s+a\s+(?!mi\b|casa\b)\w+"), "regiones países"),
        (re.compile(r"\bcu[aá]nto (cuesta|vale|es|cobran)\b|\bprecio\b"), "costos"),
    ),
    "id": (
        *_ITEM_PROBLEMS["id"],
        (re.compile(r"\b(kirim|antar)\w*\s+ke\s+\w+"), "wilayah"),
        (re.compile(r"\bberapa (ongkir|biaya|harga)\b"), "ongkos"),
    ),
}


# Customers' words for what help centres name otherwise ("send it back" is a return, "postage" is
# shipping, "close my account" deletes it): the full-text search reads the help centre's word in
# their place. Replaced rather than added, so a question's share of matched words (its coverage)
# still counts each thing it asks once. Only for the words search: the encoder reads the customer's.
_CUSTOMER_WORDS: _WordRules = {
    "en": (
        (
            re.compile(
                r"\b(send|sent|give|take|bring|ship|post|mail)(ing)?\s+"
                r"((it|them|this|that|these|those|something|somethin|smth|sth|stuff|things?|items?|an item|"
                r"the \w+|my \w+)\s+)?back\b"
            ),
            "return",
        ),
        (re.compile(r"\b(money back|reimburse\w*)\b"), "refund"),
        (re.compile(r"\b(swap|swapping|swapped)\b"), "exchange"),
        (re.compile(r"\bpostage\b"), "shipping"),
        (re.compile(r"\b(sign|signing|log|logging)[ -]?(in|on)\b"), "log in"),
        (
            re.compile(r"\b(close|closing|deactivate|cancel|remove|get rid of)\s+(my |the )?(account|profile)\b"),
            "delete account",
        ),
        (
            re.compile(r"\b(register|registering|registration|sign(ing)? up|signup|make an account|open an account)\b"),
            "create account",
        ),
    ),
    "es": (
        (re.compile(r"\b(mandar|enviar|regresar)(lo|la|los|las)?\s+de vuelta\b|\bdevolver\w*\b"), "devolución"),
        (re.compile(r"\b(reembols\w*|me devuelvan el dinero|devolución del dinero)\b"), "reembolso"),
        (re.compile(r"\b(cerrar|dar de baja|eliminar|borrar)\s+(mi |la )?cuenta\b"), "eliminar cuenta"),
        (re.compile(r"\b(registrarme|registrarse|crear(me)? una cuenta|abrir una cuenta)\b"), "crear cuenta"),
    ),
    "id": (
        (re.compile(r"\b(balikin|dibalikin|kembaliin|dikembaliin|balikan)\b"), "retur"),
        (re.compile(r"\b(tutup|hapus|nonaktifkan)\s+akun\b"), "hapus akun"),
        # Not "daftar" alone: it is also a list ("daftar harga").
        (re.compile(r"\b(daftar akun|bikin akun|buat akun|registrasi)\b"), "daftar akun"),
    ),
}


def in_help_centre_words(query: str, language: str) -> str:
    """The query with customers' words for a help centre's topics replaced by the help centre's."""
    text = query.lower()
    for pattern, words in _CUSTOMER_WORDS.get(language, ()):
        text = pattern.sub(words, text)
    return text


# Other names a help centre gives the thing a customer's word names, where no word is wrong:
# "pictures" may be the help centre's "images" or its "photos", "site" its "website", "green" its
# "environmental" or "eco-friendly". A key word of the question is found when the chunk has it or
# any of these (one word of the question still counts once).
_ALSO_CALLED: dict[str, dict[str, str]] = {
    "en": {
        **dict.fromkeys(("picture", "pictures", "pic", "pics", "photo", "photos"), "image images photo picture"),
        **dict.fromkeys(("image", "images"), "photo photos picture"),
        **dict.fromkeys(("site", "page", "webpage", "web"), "website site page"),
        "website": "site",
        **dict.fromkeys(("crash", "crashes", "crashing", "frozen", "freezes", "glitch", "glitching"), "working error"),
        **dict.fromkeys(("spins", "spinning", "stuck", "hangs", "hanging"), "loading working error"),
        **dict.fromkeys(("charity", "charities", "nonprofit", "ngo", "exempt"), "exempt exemption"),
        **dict.fromkeys(("advertisers", "advertiser", "marketers", "companies"), "third parties"),
        **dict.fromkeys(
            ("green", "eco", "ecological", "planet", "carbon", "footprint", "climate"),
            "environmental eco sustainability",
        ),
        **dict.fromkeys(("newsletter", "newsletters", "spam", "unsubscribe"), "marketing emails opt out"),
        **dict.fromkeys(("guarantee", "guaranteed", "covered"), "warranty"),
        **dict.fromkeys(("rate", "rating", "ratings"), "review"),
        **dict.fromkeys(("bulk", "wholesale", "reseller", "resell"), "wholesale bulk"),
        **dict.fromkeys(("points", "rewards", "loyalty"), "loyalty rewards points"),
        **dict.fromkeys(("coupon", "coupons", "voucher", "vouchers"), "promo discount"),
        **dict.fromkeys(("receipt", "bill"), "invoice receipt"),
        "invoice": "receipt",
        **dict.fromkeys(("parcel", "package", "box"), "package parcel"),
        **dict.fromkeys(("delivery", "deliver", "delivered"), "shipping delivery"),  # "postage" is replaced before
        **dict.fromkeys(("shipping", "ship", "shipped"), "delivery"),
        **dict.fromkeys(("price", "cost", "costs", "fee", "fees", "charge"), "cost price fee"),
        "mail": "email",
    },
    "es": {
        **dict.fromkeys(("foto", "fotos", "imagen", "imágenes", "imagenes"), "imagen imágenes foto fotos"),
        **dict.fromkeys(("página", "pagina", "sitio", "web"), "web página sitio"),
        **dict.fromkeys(("envío", "envio", "entrega", "despacho"), "envío entrega"),
        **dict.fromkeys(("factura", "recibo", "boleta", "comprobante"), "factura recibo"),
        **dict.fromkeys(("cupón", "cupon", "descuento"), "cupón descuento"),
        **dict.fromkeys(("precio", "costo", "coste", "cargo", "tarifa"), "precio costo coste cargo"),
    },
    "id": {
        **dict.fromkeys(("foto", "gambar"), "foto gambar"),
        **dict.fromkeys(("situs", "web", "website", "halaman"), "situs website halaman"),
        **dict.fromkeys(("ongkir", "pengiriman", "kirim"), "pengiriman ongkos kirim"),
        **dict.fromkeys(("struk", "nota", "faktur", "invoice", "tagihan"), "faktur invoice struk tagihan"),
        **dict.fromkeys(("voucher", "kupon", "promo", "diskon"), "voucher kupon promo diskon"),
        **dict.fromkeys(("harga", "biaya", "ongkos", "tarif"), "harga biaya ongkos"),
    },
}


def word_groups(text: str, language: str) -> list[str]:
    """The search's key words, each with the other names the help centre may use for it."""
    also = _ALSO_CALLED.get(language, {})
    words = dict.fromkeys(_WORD.findall(text.lower()))  # each word once, in order
    return [f"{word} {also[word]}" if word in also else word for word in words]


def expand_query(query: str, language: str) -> str:
    """The query with the help centre's words for what it describes (see `_EXPANSIONS`)."""
    lowered = query.lower()
    items = _SITE_TROUBLE.sub(" ", lowered)  # "your site is broken" names no damaged item
    item_rules = _ITEM_PROBLEMS.get(language, ())
    extra = [
        words
        for pattern, words in _EXPANSIONS.get(language, ())
        if pattern.search(items if (pattern, words) in item_rules else lowered)
    ]
    return " ".join([query, *extra])


def names_item_problem(text: str, language: str) -> bool:
    """Whether the message says an item arrived damaged or never arrived ("my lamp came broken",
    "me llegó rota", "paketnya hilang"), in `language` or in English."""
    lowered = _SITE_TROUBLE.sub(" ", text.lower())
    patterns = (*_ITEM_PROBLEMS.get(language, ()), *_ITEM_PROBLEMS["en"])
    return any(pattern.search(lowered) for pattern, _ in patterns)


class KnowledgeBase(Protocol):
    """Anything that finds help-centre passages for a question."""

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        """Return up to `k` passages, best first."""
        ...


# Score: the share of the question's key words a chunk contains (title, heading or body), each word
# counting as found when the chunk has it or one of its other names (`word_groups`); ties go to the
# chunk whose own section has more of them, then to the denser match. IDF weighting was tried on
# the retrieval set and lost: in a help centre of a few dozen articles, the rarest words are often
# filler ("something").
_SEARCH_SQL = """
WITH g AS (
    SELECT DISTINCT tsvector_to_array(to_tsvector(%(cfg)s::regconfig, words)) AS terms
    FROM unnest(%(groups)s::text[]) AS words
), gq AS (
    SELECT terms FROM g WHERE cardinality(terms) > 0
), tq AS (
    SELECT count(*) AS n, (SELECT string_agg(quote_literal(t), ' | ') FROM gq, unnest(gq.terms) t)::tsquery AS query
    FROM gq HAVING count(*) > 0
)
SELECT d.title, d.source, d.language, c.heading, c.body,
       (SELECT count(*) FROM gq WHERE gq.terms && tsvector_to_array(c.tsv))::float / tq.n AS coverage,
       (SELECT count(*) FROM gq WHERE gq.terms && tsvector_to_array(ts_filter(c.tsv, '{a,b}'))) AS section_matches,
       ts_rank_cd(c.tsv, tq.query, 32) AS rank
FROM tq, kb_chunks c JOIN kb_documents d ON d.id = c.document_id
WHERE c.ts_config = %(cfg)s::regconfig AND c.tsv @@ tq.query
ORDER BY coverage DESC, section_matches DESC, rank DESC, c.id
LIMIT %(k)s
"""


@dataclass(frozen=True, slots=True)
class SimilarityScale:
    """Turns an embedding model's cosine similarity into a relevance in [0, 1]: `floor` and below
    is unrelated, `ceiling` and above as relevant as it gets. Cosines differ by model."""

    floor: float = 0.0
    ceiling: float = 1.0

    def relevance(self, similarity: float) -> float:
        return max(0.0, min(1.0, (similarity - self.floor) / (self.ceiling - self.floor)))


@dataclass(frozen=True, slots=True)
class Embedder:
    """An embedding model and the name its vectors are stored under (`local:…`, `openai:<id>`,
    `bedrock:<id>`)."""

    name: str
    model: Embeddings
    scale: SimilarityScale = field(default_factory=lambda: SimilarityScale())
    """How this model's cosine similarities read as relevance."""


class EmbeddingsUnavailable(RuntimeError):
    """EMBEDDINGS is set but the database has no pgvector."""


def _vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def _embedding_text(title: str, heading: str, body: str) -> str:
    return "\n".join(part for part in (title, heading, body) if part)


def _label_text(title: str, heading: str) -> str:
    """What a chunk is about, as its help centre names it: a FAQ row's question, or the article's
    title and the section's heading ("Shipping and delivery: Delivery times")."""
    return f"{title}: {heading}" if title and heading else title or heading


async def check_embeddings_table(pool: Pool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT to_regclass('kb_chunk_embeddings') IS NOT NULL AS present")
        row = await cur.fetchone()
    if not (row and row["present"]):
        raise EmbeddingsUnavailable("EMBEDDINGS needs the pgvector extension in the database (CREATE EXTENSION vector)")


async def embed_pending_chunks(pool: Pool, embedder: Embedder, *, batch: int = 64) -> int:
    """Embed every chunk that has no vectors from this model yet (its text, and its label: the
    question it answers); return how many were embedded."""
    done = 0
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.id, c.title, c.heading, c.body FROM kb_chunks c"
                " WHERE NOT EXISTS (SELECT 1 FROM kb_chunk_embeddings e"
                "  WHERE e.chunk_id = c.id AND e.model = %s AND e.label_embedding IS NOT NULL)"
                " ORDER BY c.id LIMIT %s",
                (embedder.name, batch),
            )
            rows = await cur.fetchall()
        if not rows:
            return done
        vectors = await embedder.model.aembed_documents(
            [_embedding_text(r["title"], r["heading"], r["body"]) for r in rows]
            + [_label_text(r["title"], r["heading"]) or r["body"] for r in rows]
        )
        texts, labels = vectors[: len(rows)], vectors[len(rows) :]
        async with pool.connection() as conn, conn.cursor() as cursor:
            # A chunk deleted meanwhile (document replaced) simply gets no vector.
            await cursor.executemany(
                "INSERT INTO kb_chunk_embeddings (chunk_id, model, embedding, label_embedding)"
                " SELECT id, %s, %s::vector, %s::vector FROM kb_chunks WHERE id = %s"
                " ON CONFLICT (chunk_id, model) DO UPDATE"
                " SET embedding = excluded.embedding, label_embedding = excluded.label_embedding",
                [
                    (embedder.name, _vector_literal(v), _vector_literal(label), r["id"])
                    for r, v, label in zip(rows, texts, labels, strict=True)
                ],
            )
        done += len(rows)


# English passages found for a question in another language score this much of their match.
_OTHER_LANGUAGE_FACTOR = 0.8
# Each search returns this many candidates for fusion, however few passages are asked for.
_CANDIDATES = 10
# A chunk's similarity to a question: a blend of how close the question is to the chunk's label
# (the question it answers) and to its whole text; a customer's paraphrase usually says what
# the label says in other words, not what the answer says.
LABEL_WEIGHT = 0.3

_SEMANTIC_SQL = """
SELECT d.title, d.source, d.language, c.heading, c.body,
       %(label_weight)s * (1 - (coalesce(e.label_embedding, e.embedding) <=> %(q)s::vector))
           + (1 - %(label_weight)s) * (1 - (e.embedding <=> %(q)s::vector)) AS similarity
FROM kb_chunk_embeddings e JOIN kb_chunks c ON c.id = e.chunk_id JOIN kb_documents d ON d.id = c.document_id
WHERE e.model = %(model)s AND d.language = ANY(%(languages)s)
ORDER BY similarity DESC, c.id
LIMIT %(k)s
"""


def _key(passage: Passage) -> tuple[str, str, str]:
    return passage.source, passage.heading, passage.text


def fuse(lexical: list[Passage], semantic: list[Passage], *, language: str, k: int) -> list[Passage]:
    """One ranking from both searches (`Passage.rank`); ties go to the customer's language.

    A passage's score stays a relevance in [0, 1] for the "relevant enough to answer" check: the
    probabilistic OR of its two scores (1 - (1-a)(1-b)), so either strong signal is enough."""
    fused: dict[tuple[str, str, str], tuple[Passage, float, float]] = {}
    for p in lexical:
        base, _, semantic_score = fused.get(_key(p), (p, 0.0, 0.0))
        fused[_key(p)] = (base, p.score, semantic_score)
    for p in semantic:
        base, lexical_score, _ = fused.get(_key(p), (p, 0.0, 0.0))
        fused[_key(p)] = (base, lexical_score, p.score)
    scored = [replace(p, score=round(1 - (1 - a) * (1 - b), 4), lexical=a, semantic=b) for p, a, b in fused.values()]
    return sorted(scored, key=lambda p: (-p.rank, p.language != language))[:k]


def _passage(row: dict[str, Any], score: float) -> Passage:
    return Passage(
        title=row["title"],
        source=row["source"],
        heading=row["heading"],
        text=row["body"],
        language=row["language"],
        score=round(max(0.0, min(1.0, score)), 4),
    )


class PostgresKnowledgeBase:
    """Full-text search over `kb_chunks`, in the question's language first, then English; with
    an embedder, fused with pgvector similarity over the question's language and English, so an
    Indonesian question also finds an article the shop wrote only in English."""

    def __init__(self, pool: Pool, *, embedder: Embedder | None = None) -> None:
        self._pool = pool
        self._embedder = embedder

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        """Return up to `k` passages, best first, scored in [0, 1]."""
        candidates = max(k, _CANDIDATES)
        query = expand_query(query, language)
        passages = await self._search_in(query, language, candidates)
        if language != "en" and (not passages or passages[0].score < 0.5):
            # Many shops write their help centre in English only: look there too, but an answer
            # in the customer's own language wins unless the English one is clearly better.
            english = [
                replace(p, score=round(p.score * _OTHER_LANGUAGE_FACTOR, 4))
                for p in await self._search_in(query, "en", candidates)
            ]
            passages = sorted(passages + english, key=lambda p: p.score, reverse=True)[:candidates]
        if self._embedder is None:
            return passages[:k]
        return fuse(passages, await self._semantic(query, language, candidates), language=language, k=k)

    async def _semantic(self, query: str, language: str, k: int) -> list[Passage]:
        assert self._embedder is not None
        vector = await self._embedder.model.aembed_query(query)
        params = {
            "q": _vector_literal(vector),
            "model": self._embedder.name,
            "languages": [language, "en"],
            "k": k,
            "label_weight": LABEL_WEIGHT,
        }
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SEMANTIC_SQL, params)
            rows = await cur.fetchall()
        passages = []
        for row in rows:
            relevance = self._embedder.scale.relevance(float(row["similarity"]))
            if relevance <= 0:
                # No closer than unrelated text (a question the encoder reads poorly, like
                # Indonesian slang): it gets no say in the ranking.
                continue
            if row["language"] != language:
                relevance *= _OTHER_LANGUAGE_FACTOR
            passages.append(_passage(row, relevance))
        # The customer's own language first among equally similar passages.
        return sorted(passages, key=lambda p: (-p.score, p.language != language))

    async def _search_in(self, query: str, language: str, k: int) -> list[Passage]:
        cfg = TS_CONFIGS.get(language, "simple")
        groups = word_groups(topic_words(in_help_centre_words(query, language), language), language)
        async with self._pool.connection() as conn:
            cur = await conn.execute(_SEARCH_SQL, {"cfg": cfg, "groups": groups, "k": k})
            rows = await cur.fetchall()
        return [_passage(row, float(row["coverage"])) for row in rows]


class BedrockKnowledgeBase:
    """Knowledge Bases for Amazon Bedrock (KNOWLEDGE_BASE_ID) through langchain-aws' retriever.

    The shop's documents live in Bedrock; Bedrock's relevance score is already in [0, 1].
    """

    def __init__(self, retriever: BaseRetriever) -> None:
        self._retriever = retriever

    async def search(self, query: str, *, language: str, k: int = 4) -> list[Passage]:
        documents = await self._retriever.ainvoke(query)
        passages = [self._passage(d.page_content, d.metadata, language) for d in documents if d.page_content]
        passages.sort(key=lambda p: p.score, reverse=True)
        return passages[:k]

    @staticmethod
    def _passage(text: str, metadata: dict[str, Any], language: str) -> Passage:
        extra = metadata.get("source_metadata") or {}
        source = _bedrock_source(metadata.get("location") or {}) or str(
            extra.get("x-amz-bedrock-kb-source-uri", "bedrock")
        )
        return Passage(
            title=str(extra.get("title") or PurePosixPath(source).stem or source),
            source=source,
            heading="",
            text=text,
            language=language,
            score=max(0.0, min(1.0, float(metadata.get("score") or 0.0))),
        )


def _bedrock_source(location: dict[str, Any]) -> str | None:
    """The document's URI from a Retrieve result's location (`s3Location.uri`, `webLocation.url`, …)."""
    for value in location.values():
        if isinstance(value, dict) and (value.get("uri") or value.get("url")):
            return str(value.get("uri") or value.get("url"))
    return None


def bedrock_knowledge_base(
    knowledge_base_id: str, *, region: str | None, endpoint_url: str | None = None, k: int = 4
) -> BedrockKnowledgeBase:
    """The Bedrock-backed knowledge base (the client is built here, not at import)."""
    from langchain_aws.retrievers import AmazonKnowledgeBasesRetriever

    retriever = AmazonKnowledgeBasesRetriever(
        knowledge_base_id=knowledge_base_id,
        region_name=region,
        endpoint_url=endpoint_url,
        retrieval_config={"vectorSearchConfiguration": {"numberOfResults": k}},
        min_score_confidence=None,
    )
    return BedrockKnowledgeBase(retriever)
