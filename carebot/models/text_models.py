"""The offline model's learned parts: the intent model and the language classifier.

Trained from the labelled examples shipped in `data/intent_examples.jsonl` (customer messages in
English, Indonesian and Spanish, written the way customers write) on first use, in about a
second, and kept for the process (and in the cache dir, for the next one). Deterministic: the
same examples give the same model. Trained with scikit-learn, then copied into numpy-only
objects (`compiled.py`): predicting, and loading a cached model, never imports scikit-learn.

The intent model reads a message two ways and averages the two: TF-IDF over characters and
words (typos, slang, word forms) and the multilingual sentence encoder (paraphrases, other
languages). Out of scope is a class it learns from a large, varied set of off-topic examples
(everyday requests, banking, travel, trivia, chit-chat, abuse), so a decline rests on evidence
that the message is about something else, not on the absence of shop words; a message that names
the shop's things (`data/shop_terms.txt`) or an order is never declined. Between a confident
intent and a confident decline the bot searches the help centre and, with nothing clearly
relevant, asks which topic is meant (`scope.py` holds the costs and how the thresholds are chosen).

The examples: `data/intent_examples.jsonl`, written by the team, and
`data/customer_examples.jsonl`, written by helper sessions briefed to imitate customers (synonyms,
SMS spelling, typos, no shop words, rambling, bare order numbers and complaints) in the three
languages, less any line whose text equals a message of an evaluation set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from carebot.models import chat_spelling, compiled, scope
from carebot.models.cache_files import read_pickle, write_pickle
from carebot.models.chat_spelling import spelled_out
from carebot.models.compiled import KernelClassifier, TextPipeline
from carebot.models.scope import (
    OUT_OF_SCOPE,
    CurvePoint,
    ScopeReading,
    ScopeThresholds,
    choose_thresholds,
    decide,
    named_but_elsewhere,
    trade_off_curve,
)
from carebot.models.sentence_encoder import LOCAL_EMBEDDINGS_NAME, SentenceEncoder, local_sentence_encoder
from carebot.models.shipped_scope import data_fingerprint, shipped_choice

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sklearn.pipeline import Pipeline

from carebot.domain import ORDER_NUMBER

# Lexical and semantic intent probabilities are averaged: on the customer-style held-out sets each
# alone scores 0.92-0.95 and the average 0.95-0.97 (the lexical side fixes typos and slang, the
# semantic side paraphrases).
_LEXICAL_WEIGHT = 0.5


def normalise(text: str, *, spelled: bool = False) -> str:
    # Order numbers carry no intent or language: fold them into one token so "A1042" and
    # "a-1187" teach the model the same thing.
    lowered = text.lower()
    # The intent model reads chat shorthand and accent-less words as the words they stand for
    # (`chat_spelling.py`); the language model keeps them: "q", "yg" and accents say which language.
    return ORDER_NUMBER.sub(" ordernum ", spelled_out(lowered) if spelled else lowered)


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str


TRAINING_FILES = ("intent_examples.jsonl", "customer_examples.jsonl")


def load_examples(names: tuple[str, ...] = TRAINING_FILES) -> list[Example]:
    """The labelled examples shipped with the package."""
    data = resources.files("carebot.models") / "data"
    raw = [line for name in names for line in (data / name).read_text(encoding="utf-8").splitlines()]
    return [Example(**json.loads(line)) for line in raw if line.strip()]


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Indonesian verbs take prefixes ("dikirim", "diretur", "terkirim", "pengiriman"): a term may
# also match after one of them.
_INDONESIAN_PREFIXES = re.compile(r"^(?:di|ter|ke|ber|pe|me)(?=\w{4})")


def shop_terms_text(name: str = "shop_terms.txt") -> str:
    return (resources.files("carebot.models") / "data" / name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class ShopTerms:
    """Words of the shop's world; a message word matches a term it starts with (`term=`: exactly)."""

    prefixes: tuple[str, ...]
    exact: frozenset[str]

    @classmethod
    def load(cls, name: str = "shop_terms.txt") -> ShopTerms:
        raw = shop_terms_text(name)
        words = [w.lower() for line in raw.splitlines() if not line.startswith("#") for w in line.split()]
        return cls(
            prefixes=tuple(w for w in words if not w.endswith("=")),
            exact=frozenset(w.rstrip("=") for w in words if w.endswith("=")),
        )

    def mentioned(self, text: str) -> bool:
        if ORDER_NUMBER.search(text):
            return True
        return any(
            w in self.exact or w.startswith(self.prefixes) or _INDONESIAN_PREFIXES.sub("", w).startswith(self.prefixes)
            for w in _WORD.findall(text.lower())
        )


def _text_pipeline(char_range: tuple[int, int], c: float, tol: float = 1e-3) -> Pipeline:
    # scikit-learn takes seconds to import: only processes that use the offline model pay.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    # Characters catch typos, slang and word forms ("pesananku", "wheres"); words catch phrasing.
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=char_range, sublinear_tf=True, min_df=2)),
            (
                "words",
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b", min_df=2),
            ),
        ]
    )
    # saga: the same model as lbfgs on these features (same held-out accuracy) in a fifth of the time;
    # a fixed seed keeps training deterministic.
    # Without the n-grams seen in one example only, and to a looser tolerance: on the 4,500 examples,
    # the same validation accuracy (0.843 against 0.839) in a quarter of the time (4 s, not 14).
    model = LogisticRegression(C=c, max_iter=5000, solver="saga", random_state=0, tol=tol)
    return Pipeline([("features", features), ("model", model)])


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float


def fit_text_pipeline(texts: list[str], labels: list[str], *, char_range: tuple[int, int], c: float) -> Pipeline:
    """A scikit-learn pipeline fitted to the (normalised) texts."""
    pipeline = _text_pipeline(char_range, c)
    pipeline.fit([normalise(t) for t in texts], labels)
    return pipeline


class TextClassifier:
    """A fitted text classifier that answers with a label and its probability."""

    def __init__(self, pipeline: TextPipeline, *, spelled: bool = False) -> None:
        self._pipeline = pipeline
        self._spelled = spelled
        """Whether it was fitted to texts with chat shorthand spelled out (`normalise`)."""

    @classmethod
    def from_fitted(cls, pipeline: Pipeline, *, spelled: bool = False) -> TextClassifier:
        return cls(TextPipeline.from_fitted(pipeline), spelled=spelled)

    @property
    def labels(self) -> list[str]:
        return list(self._pipeline.model.labels)

    def probabilities(self, text: str) -> NDArray[np.float64]:
        """One probability per label, in `labels` order."""
        return self._pipeline.predict_proba(normalise(text, spelled=self._spelled))

    def predict(self, text: str) -> Prediction:
        probabilities = self.probabilities(text)
        best = int(probabilities.argmax())
        return Prediction(label=self.labels[best], confidence=float(probabilities[best]))


@dataclass(frozen=True, slots=True)
class IntentReading:
    label: str
    """The shop intent, or `out_of_scope` for a confident off-topic reading."""
    confidence: float
    off_topic: float
    """The evidence that the message is about something other than the shop, in [0, 1]: the
    probability of the off-topic examples' class, and 0 for a message that names the shop's things
    or an order (however the rest reads, it is never declined)."""
    unsure: bool = False
    """Neither a confident shop intent nor confidently off topic: `label` is the best guess, and
    the graph searches the help centre, then asks which topic is meant, rather than decline."""
    topics: tuple[str, ...] = ()
    """The shop topics a customer can be asked to choose from, likeliest first (also given with an
    off-topic reading: the topic its question is answered under if the help centre plainly answers it)."""
    elsewhere: bool = False
    """Unsure because the message names the shop's things but reads as about something else
    (another company's order, a bank's fee): asked which topic at once, the help centre not searched
    (its passages on orders and fees would answer it as if it were the shop's)."""


@dataclass(frozen=True, slots=True)
class IntentParameters:
    """What training learns (picklable: no encoder in it, and no scikit-learn)."""

    lexical: TextClassifier
    semantic: KernelClassifier
    thresholds: ScopeThresholds
    """Chosen on the training examples, each read by a fit without it (`scope.choose_thresholds`)."""
    validation_curve: tuple[CurvePoint, ...]
    """The decline threshold's trade-off on those readings."""


@dataclass(frozen=True, slots=True)
class IntentEstimators:
    """The scikit-learn estimators training fits, before they are copied into `IntentParameters`."""

    lexical: Pipeline
    semantic: KernelClassifier
    thresholds: ScopeThresholds
    validation_curve: tuple[CurvePoint, ...]

    def compiled(self) -> IntentParameters:
        return IntentParameters(
            lexical=TextClassifier.from_fitted(self.lexical, spelled=True),
            semantic=self.semantic,
            thresholds=self.thresholds,
            validation_curve=self.validation_curve,
        )


def _combined(lexical: NDArray[np.float64], semantic: NDArray[np.float64]) -> NDArray[np.float64]:
    return _LEXICAL_WEIGHT * lexical + (1 - _LEXICAL_WEIGHT) * semantic


# What an unsure customer is asked to choose from: questions the help centre or the order tools
# answer (a greeting needs no choosing; a person is always offered beside them).
_TOPICS = ("order_status", "order_change", "shipping", "returns_refunds", "payment", "account", "product")
_TOPICS_OFFERED = 3


def _scope_reading(
    expected: str, labels: list[str], probabilities: NDArray[np.float64], *, names_the_shop: bool
) -> ScopeReading:
    off_topic_index = labels.index(OUT_OF_SCOPE)
    in_scope = probabilities.copy()
    in_scope[off_topic_index] = -1.0
    best = int(in_scope.argmax())
    return ScopeReading(
        expected=expected,
        best_intent=labels[best],
        intent_probability=float(probabilities[best]),
        off_topic=float(probabilities[off_topic_index]),
        names_the_shop=names_the_shop,
    )


class IntentModel:
    """Intent, out of scope among them, from lexical and sentence-vector classifiers; the scope
    thresholds say when to answer, decline or ask which topic (`scope.py`)."""

    def __init__(self, parameters: IntentParameters, *, shop_terms: ShopTerms, encoder: SentenceEncoder) -> None:
        self._parameters = parameters
        self._shop_terms = shop_terms
        self._encoder = encoder

    @property
    def thresholds(self) -> ScopeThresholds:
        return self._parameters.thresholds

    @property
    def validation_curve(self) -> tuple[CurvePoint, ...]:
        return self._parameters.validation_curve

    def predict(self, text: str) -> IntentReading:
        learned = self._parameters
        # The raw text, as retrieval embeds it in the same turn: the encoder remembers it.
        vector = self._encoder.encode_one(text)
        probabilities = _combined(
            learned.lexical.probabilities(text), np.asarray(learned.semantic.predict_proba(vector[None, :])[0])
        )
        reading = _scope_reading(
            "", learned.lexical.labels, probabilities, names_the_shop=self._shop_terms.mentioned(text)
        )
        outcome = decide(reading, learned.thresholds)
        # What a decline could rest on: none for a message that names the shop (never declined).
        off_topic = 0.0 if reading.names_the_shop else reading.off_topic
        if outcome == "answer":
            return IntentReading(reading.best_intent, reading.intent_probability, off_topic)
        labels = learned.lexical.labels
        ranked = [labels[i] for i in np.argsort(-probabilities) if labels[i] in _TOPICS]
        if outcome == "decline":
            return IntentReading(OUT_OF_SCOPE, off_topic, off_topic, topics=tuple(ranked[:_TOPICS_OFFERED]))
        return IntentReading(
            reading.best_intent,
            reading.intent_probability,
            off_topic,
            unsure=True,
            topics=tuple(ranked[:_TOPICS_OFFERED]),
            elsewhere=named_but_elsewhere(reading, learned.thresholds),
        )


# The scope thresholds are chosen on the training examples read by classifiers fitted without them:
# the examples are cut into this many folds, each read by a fit on the others.
_FOLDS = 5


def _lexical_pipeline() -> Pipeline:
    # tol 1e-2: six fits per training (five folds and the final one) in a seventh of the time each;
    # on the out-of-fold readings the same thresholds, cost 1482 against 1480, accuracy 0.868 / 0.869.
    return _text_pipeline(char_range=(2, 5), c=20.0, tol=1e-2)


# The sentence-vector side: kernel ridge regression (RBF kernel on the unit vectors, one-hot labels),
# not a linear model. Out of scope and several shop intents are many small clusters of phrasings
# in the encoder's space that no hyperplane separates: out of fold on the training examples, a
# logistic regression reads 0.898 of them right, this 0.947 (averaged with the lexical side: 0.945
# against 0.961). gamma 0.7-1.0, ridge 0.03-0.1 and a scale of 8-12 all score within 0.1 of it.
_KERNEL_GAMMA = 1.0
_KERNEL_RIDGE = 0.1
# Softmax of scale x scores: the scale of least out-of-fold log loss (0.18).
_KERNEL_SCALE = 10.0
# The vectors are read on their 192 main directions (of 512): the same accuracy (0.961 against
# 0.962 with all 512), and the training vectors a message is compared with take 8 MB, not 21: they
# stay in the CPU's cache, 0.25 ms a message instead of 1.9.
_KERNEL_COMPONENTS = 192


def _fit_semantic(vectors: NDArray[np.float32], labels: list[str]) -> KernelClassifier:
    """Solves (K + ridge I) W = Y - mean(Y) by Cholesky, in float32 (10,000 examples: a 400 MB
    kernel, 3-6 s on two cores; the same predictions as float64 to 1e-4)."""
    from scipy.linalg import cho_factor, cho_solve

    vectors = np.asarray(vectors, dtype=np.float32)
    _, _, directions = np.linalg.svd(vectors, full_matrices=False)
    projection = np.ascontiguousarray(directions[:_KERNEL_COMPONENTS].T, dtype=np.float32)
    classes = sorted(set(labels))
    targets = (np.asarray(labels)[:, None] == np.asarray(classes)[None, :]).astype(np.float32)
    offset = targets.mean(axis=0)
    unfitted = KernelClassifier(
        labels=tuple(classes),
        projection=projection,
        support=np.zeros((0, _KERNEL_COMPONENTS), dtype=np.float32),
        weights=np.zeros((0, len(classes)), dtype=np.float32),
        offset=offset,
        gamma=_KERNEL_GAMMA,
        scale=_KERNEL_SCALE,
    )
    support = unfitted.project(vectors)
    kernel = support @ support.T
    kernel -= 1.0
    kernel *= 2.0 * _KERNEL_GAMMA
    np.exp(kernel, out=kernel)
    kernel[np.diag_indices_from(kernel)] += _KERNEL_RIDGE
    factor = cho_factor(kernel, lower=True, overwrite_a=True, check_finite=False)
    weights = cho_solve(factor, targets - offset, check_finite=False).astype(np.float32)
    return replace(unfitted, support=support, weights=weights)


def _fit_classifiers(
    texts: list[str], vectors: NDArray[np.float32], labels: list[str]
) -> tuple[Pipeline, KernelClassifier]:
    lexical = _lexical_pipeline().fit([normalise(t, spelled=True) for t in texts], labels)
    return lexical, _fit_semantic(vectors, labels)


def validation_folds(examples: list[Example]) -> list[int]:
    """Each example's fold: its position among the examples of its intent and language, modulo
    the number of folds (so every fold holds every intent in every language)."""
    seen: dict[tuple[str, str], int] = {}
    folds: list[int] = []
    for example in examples:
        position = seen.get((example.intent, example.language), 0)
        seen[(example.intent, example.language)] = position + 1
        folds.append(position % _FOLDS)
    return folds


def _out_of_fold_readings(
    texts: list[str], vectors: NDArray[np.float32], labels: list[str], folds: list[int], shop_terms: ShopTerms
) -> list[ScopeReading]:
    """Every example read by classifiers fitted without its fold.

    The TF-IDF features are computed once, on every example: a fold's n-grams then count in the
    vocabulary of the fit that does not see it (its weights stay near zero there), which leaves the
    readings as they were (the same thresholds) and spares four of the five vectorisations."""
    from sklearn.base import clone

    lexical = _lexical_pipeline()
    features = lexical.named_steps["features"].fit_transform([normalise(t, spelled=True) for t in texts])
    readings: list[ScopeReading] = []
    for fold in range(_FOLDS):
        training = [i for i, f in enumerate(folds) if f != fold]
        held = [i for i, f in enumerate(folds) if f == fold]
        trained = [labels[i] for i in training]
        words = clone(lexical.named_steps["model"]).fit(features[training], trained)
        meaning = _fit_semantic(vectors[training], trained)
        probabilities = _combined(words.predict_proba(features[held]), meaning.predict_proba(vectors[held]))
        classes = [str(c) for c in words.classes_]
        readings += [
            _scope_reading(labels[i], classes, row, names_the_shop=shop_terms.mentioned(texts[i]))
            for i, row in zip(held, probabilities, strict=True)
        ]
    return readings


def fit_intent_estimators(
    examples: list[Example], encoder: SentenceEncoder, shop_terms: ShopTerms, *, cache_dir: Path | None = None
) -> IntentEstimators:
    texts = [e.text for e in examples]
    vectors = encoder.encode_cached(texts, cache_dir)
    labels = [e.intent for e in examples]
    shipped = shipped_choice(data_fingerprint(examples, shop_terms_text()))
    thresholds, curve = shipped or _chosen_scope(examples, vectors, shop_terms)
    lexical, semantic = _fit_classifiers(texts, vectors, labels)
    return IntentEstimators(lexical=lexical, semantic=semantic, thresholds=thresholds, validation_curve=curve)


def choose_scope(
    examples: list[Example], encoder: SentenceEncoder, shop_terms: ShopTerms, *, cache_dir: Path | None = None
) -> tuple[ScopeThresholds, tuple[CurvePoint, ...]]:
    """The scope thresholds for `examples`, and the decline threshold's trade-off on them: every
    example read by classifiers that never saw it, at least cost over all of them. One split of a
    fifth chose a decline threshold anywhere from 0.70 to 0.90 depending on which fifth it was (the
    cost is flat near its least); all five together hold still. (For the shipped examples they are
    chosen once and shipped: `shipped_scope.py`.)"""
    return _chosen_scope(examples, encoder.encode_cached([e.text for e in examples], cache_dir), shop_terms)


def _chosen_scope(
    examples: list[Example], vectors: NDArray[np.float32], shop_terms: ShopTerms
) -> tuple[ScopeThresholds, tuple[CurvePoint, ...]]:
    texts = [e.text for e in examples]
    labels = [e.intent for e in examples]
    readings = _out_of_fold_readings(texts, vectors, labels, validation_folds(examples), shop_terms)
    # A message naming the shop is never declined, at any threshold.
    curve = trade_off_curve(
        [0.0 if r.names_the_shop else r.off_topic for r in readings], [r.expected == OUT_OF_SCOPE for r in readings]
    )
    return choose_thresholds(readings), tuple(curve)


def train_intent_parameters(
    examples: list[Example], encoder: SentenceEncoder, shop_terms: ShopTerms, *, cache_dir: Path | None = None
) -> IntentParameters:
    return fit_intent_estimators(examples, encoder, shop_terms, cache_dir=cache_dir).compiled()


def train_intent_model(
    examples: list[Example], encoder: SentenceEncoder, *, cache_dir: Path | None = None
) -> IntentModel:
    shop_terms = ShopTerms.load()
    parameters = train_intent_parameters(examples, encoder, shop_terms, cache_dir=cache_dir)
    return IntentModel(parameters, shop_terms=shop_terms, encoder=encoder)


def fit_language_pipeline(examples: list[Example]) -> Pipeline:
    # "A1042", "👍" or "#000458" are in no language: they would only teach it noise.
    worded = [e for e in examples if _WORD.search(ORDER_NUMBER.sub(" ", e.text))]
    return fit_text_pipeline([e.text for e in worded], [e.language for e in worded], char_range=(1, 4), c=10.0)


def train_language_model(examples: list[Example]) -> TextClassifier:
    return TextClassifier.from_fitted(fit_language_pipeline(examples))


@dataclass(frozen=True, slots=True)
class TextModels:
    intent: IntentModel
    language: TextClassifier


def train_text_models(
    examples: list[Example], *, encoder: SentenceEncoder | None = None, cache_dir: Path | None = None
) -> TextModels:
    return TextModels(
        intent=train_intent_model(examples, encoder or local_sentence_encoder(cache_dir), cache_dir=cache_dir),
        language=train_language_model(examples),
    )


def _training_fingerprint() -> str:
    """What the shipped models are trained from and with: the data, this code, the libraries."""
    data = resources.files("carebot.models") / "data"
    digest = hashlib.sha256()
    for part in (*(data / name for name in TRAINING_FILES), data / "shop_terms.txt", data / "scope_thresholds.json"):
        digest.update(part.read_bytes())
    for module in (__file__, compiled.__file__, scope.__file__, chat_spelling.__file__):
        digest.update(Path(module).read_bytes())
    # The installed version, read without importing scikit-learn (a second) on every start.
    digest.update(f"{version('scikit-learn')} {version('scipy')} {np.__version__} {LOCAL_EMBEDDINGS_NAME}".encode())
    return digest.hexdigest()[:24]


_Trained = TypeVar("_Trained")


def _trained_once(cache_dir: Path | None, name: str, kind: type[_Trained], train: Callable[[], _Trained]) -> _Trained:
    """`train()`'s result, from `cache_dir` when an earlier process trained it (training takes
    seconds; loading, milliseconds)."""
    if cache_dir is None:
        return train()
    path = cache_dir / f"{name}-{_training_fingerprint()}.pickle"
    trained = read_pickle(path, kind)
    if trained is None:
        trained = train()
        write_pickle(path, trained)
    return trained


@cache
def default_language_model(cache_dir: Path | None = None) -> TextClassifier:
    """The language classifier trained on the shipped examples, once per process (per cache dir)
    on first use."""
    return _trained_once(cache_dir, "language-model", TextClassifier, lambda: train_language_model(load_examples()))


def _trained_offline(cache_dir: Path | None) -> tuple[IntentParameters, TextClassifier]:
    """The shipped models' parameters, trained once per cache dir."""
    intent = _trained_once(
        cache_dir,
        "intent-model",
        IntentParameters,
        lambda: train_intent_parameters(
            load_examples(), local_sentence_encoder(cache_dir), ShopTerms.load(), cache_dir=cache_dir
        ),
    )
    return intent, default_language_model(cache_dir)


@cache
def default_text_models(cache_dir: Path | None = None) -> TextModels:
    """The models trained on the shipped examples, once per process (per cache dir) on first use."""
    intent, language = _trained_offline(cache_dir)
    return TextModels(
        intent=IntentModel(intent, shop_terms=ShopTerms.load(), encoder=local_sentence_encoder(cache_dir)),
        language=language,
    )


# A word is said in several languages when its second language accounts for at least this share of
# the examples using it ("status", "ok", "refund": Indonesian and Spanish customers write them too).
_SHARED_WORD_SHARE = 0.2


@cache
def words_of_several_languages() -> frozenset[str]:
    """Words the shipped examples use in more than one language, often enough that alone they say
    nothing of which ("status", "ok", "refund"); a language's own words ("hola", "makasih") are not."""
    counts: dict[str, dict[str, int]] = {}
    for example in load_examples():
        for word in set(_WORD.findall(example.text.lower())):
            per_language = counts.setdefault(word, {})
            per_language[example.language] = per_language.get(example.language, 0) + 1
    return frozenset(
        word
        for word, per_language in counts.items()
        if len(per_language) > 1
        and sorted(per_language.values())[-2] >= _SHARED_WORD_SHARE * sum(per_language.values())
    )


# A message of up to this many words, every one said in several languages, is in none of them.
_FEW_WORDS = 3


def says_no_language(text: str) -> bool:
    """ "status A1001", "ok", "refund?": a few words customers of every language write, however sure
    the language model is of them."""
    words = _WORD.findall(text.lower())
    return 0 < len(words) <= _FEW_WORDS and all(w in words_of_several_languages() for w in words)


def detect_language(text: str, *, cache_dir: Path | None = None) -> str:
    """The language (en, id, es) of a document or message, by the shipped language model."""
    return default_language_model(cache_dir).predict(text).label
