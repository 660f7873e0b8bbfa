"""The offline model's learned parts: the intent model and the language classifier.

Trained from the labelled examples shipped in `data/intent_examples.jsonl` (customer messages in
English, Indonesian and Spanish, written the way customers write) on first use, in about a
second, and kept for the process (and in the cache dir, for the next one). Deterministic: the
same examples give the same model. Trained with scikit-learn, then copied into numpy-only
objects (`compiled.py`): predicting, and loading a cached model, never imports scikit-learn.

The intent model reads a message two ways and averages the two: TF-IDF over characters and
words (typos, slang, word forms) and the multilingual sentence encoder (paraphrases, other
languages). Out of scope is not a class it learns: a message is out of scope when it is far from
every in-scope example and names nothing of the shop's world (`data/shop_terms.txt`); the shipped
out-of-scope examples only calibrate where "far" begins.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from carebot.models import compiled
from carebot.models.cache_files import read_pickle, write_pickle
from carebot.models.compiled import LinearClassifier, TextPipeline
from carebot.models.sentence_encoder import LOCAL_EMBEDDINGS_NAME, SentenceEncoder, local_sentence_encoder

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

from carebot.domain import ORDER_NUMBER

OUT_OF_SCOPE = "out_of_scope"
# Similarity to the in-scope examples: the mean of the closest few, so one odd example does not
# pull a whole region of off-topic messages in.
_NEIGHBOURS = 3
# Lexical and semantic intent probabilities are averaged: on the customer-style held-out sets each
# alone scores 0.92-0.95 and the average 0.95-0.97 (the lexical side fixes typos and slang, the
# semantic side paraphrases).
_LEXICAL_WEIGHT = 0.5


def normalise(text: str) -> str:
    # Order numbers carry no intent or language: fold them into one token so "A1042" and
    # "a-1187" teach the model the same thing.
    return ORDER_NUMBER.sub(" ordernum ", text.lower())


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str


def load_examples(name: str = "intent_examples.jsonl") -> list[Example]:
    """The labelled examples shipped with the package."""
    raw = (resources.files("carebot.models") / "data" / name).read_text(encoding="utf-8")
    return [Example(**json.loads(line)) for line in raw.splitlines() if line.strip()]


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Indonesian verbs take prefixes ("dikirim", "diretur", "terkirim", "pengiriman"): a term may
# also match after one of them.
_INDONESIAN_PREFIXES = re.compile(r"^(?:di|ter|ke|ber|pe|me)(?=\w{4})")


@dataclass(frozen=True, slots=True)
class ShopTerms:
    """Words of the shop's world; a message word matches a term it starts with (`term=`: exactly)."""

    prefixes: tuple[str, ...]
    exact: frozenset[str]

    @classmethod
    def load(cls, name: str = "shop_terms.txt") -> ShopTerms:
        raw = (resources.files("carebot.models") / "data" / name).read_text(encoding="utf-8")
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


def _text_pipeline(char_range: tuple[int, int], c: float) -> Pipeline:
    # scikit-learn takes seconds to import: only processes that use the offline model pay.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    # Characters catch typos, slang and word forms ("pesananku", "wheres"); words catch phrasing.
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=char_range, sublinear_tf=True)),
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
        ]
    )
    # saga: the same model as lbfgs on these features (same held-out accuracy) in a fifth of the time;
    # a fixed seed keeps training deterministic.
    model = LogisticRegression(C=c, max_iter=5000, solver="saga", random_state=0)
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

    def __init__(self, pipeline: TextPipeline) -> None:
        self._pipeline = pipeline

    @classmethod
    def from_fitted(cls, pipeline: Pipeline) -> TextClassifier:
        return cls(TextPipeline.from_fitted(pipeline))

    @property
    def labels(self) -> list[str]:
        return list(self._pipeline.model.labels)

    def probabilities(self, text: str) -> NDArray[np.float64]:
        """One probability per label, in `labels` order."""
        return self._pipeline.predict_proba(normalise(text))

    def predict(self, text: str) -> Prediction:
        probabilities = self.probabilities(text)
        best = int(probabilities.argmax())
        return Prediction(label=self.labels[best], confidence=float(probabilities[best]))


def _closeness(similarities: NDArray[np.float32]) -> NDArray[np.float32]:
    """Per row: the mean similarity of the closest in-scope examples."""
    closest = np.sort(similarities, axis=1)[:, -_NEIGHBOURS:]
    return np.asarray(closest.mean(axis=1), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class IntentReading:
    label: str
    confidence: float
    in_scope: float
    """Probability that the message is for the shop at all, in [0, 1]."""


@dataclass(frozen=True, slots=True)
class IntentParameters:
    """What training learns (picklable: no encoder in it, and no scikit-learn)."""

    lexical: TextClassifier
    semantic: LinearClassifier
    in_scope_vectors: NDArray[np.float32]
    scope: LinearClassifier
    """In scope or not, from the closeness to the in-scope examples and whether shop words appear."""


@dataclass(frozen=True, slots=True)
class IntentEstimators:
    """The scikit-learn estimators training fits, before they are copied into `IntentParameters`."""

    lexical: Pipeline
    semantic: LogisticRegression
    in_scope_vectors: NDArray[np.float32]
    scope: LogisticRegression

    def compiled(self) -> IntentParameters:
        return IntentParameters(
            lexical=TextClassifier.from_fitted(self.lexical),
            semantic=LinearClassifier.from_fitted(self.semantic),
            in_scope_vectors=self.in_scope_vectors,
            scope=LinearClassifier.from_fitted(self.scope),
        )


class IntentModel:
    """Intent from lexical and sentence-vector classifiers; out of scope from the distance to
    every in-scope example and the shop's words."""

    def __init__(self, parameters: IntentParameters, *, shop_terms: ShopTerms, encoder: SentenceEncoder) -> None:
        self._parameters = parameters
        self._shop_terms = shop_terms
        self._encoder = encoder

    def predict(self, text: str) -> IntentReading:
        learned = self._parameters
        # The raw text, as retrieval embeds it in the same turn: the encoder remembers it.
        vector = self._encoder.encode_one(text)
        closeness = float(_closeness((learned.in_scope_vectors @ vector)[None, :])[0])
        features = np.array([[closeness, float(self._shop_terms.mentioned(text))]])
        in_scope = float(learned.scope.predict_proba(features)[0, 1])
        probabilities = _LEXICAL_WEIGHT * learned.lexical.probabilities(text) + (1 - _LEXICAL_WEIGHT) * np.asarray(
            learned.semantic.predict_proba(vector[None, :])[0]
        )
        best = int(probabilities.argmax())
        # An order number is the shop's business whatever surrounds it.
        if in_scope < 0.5 and not ORDER_NUMBER.search(text):
            return IntentReading(OUT_OF_SCOPE, 1 - in_scope, in_scope)
        return IntentReading(learned.lexical.labels[best], float(probabilities[best]), in_scope)


def fit_intent_estimators(
    examples: list[Example], encoder: SentenceEncoder, shop_terms: ShopTerms, *, cache_dir: Path | None = None
) -> IntentEstimators:
    from sklearn.linear_model import LogisticRegression

    in_scope = [e for e in examples if e.intent != OUT_OF_SCOPE]
    off_topic = [e for e in examples if e.intent == OUT_OF_SCOPE]
    vectors = encoder.encode_cached([e.text for e in in_scope + off_topic], cache_dir)
    in_vectors, off_vectors = vectors[: len(in_scope)], vectors[len(in_scope) :]
    labels = [e.intent for e in in_scope]
    lexical = fit_text_pipeline([e.text for e in in_scope], labels, char_range=(2, 5), c=20.0)
    semantic = LogisticRegression(C=10.0, max_iter=5000).fit(in_vectors, labels)

    # Where "far" begins: each in-scope example's closeness to the others (itself left out)
    # against the off-topic examples' closeness to the in-scope ones.
    within = in_vectors @ in_vectors.T
    np.fill_diagonal(within, -1.0)
    features = np.array(
        [[c, float(shop_terms.mentioned(e.text))] for c, e in zip(_closeness(within), in_scope, strict=True)]
        + [
            [c, float(shop_terms.mentioned(e.text))]
            for c, e in zip(_closeness(off_vectors @ in_vectors.T), off_topic, strict=True)
        ]
    )
    targets = [1] * len(in_scope) + [0] * len(off_topic)
    scope = LogisticRegression(C=10.0, class_weight="balanced").fit(features, targets)
    return IntentEstimators(lexical=lexical, semantic=semantic, in_scope_vectors=in_vectors, scope=scope)


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
    return fit_text_pipeline([e.text for e in examples], [e.language for e in examples], char_range=(1, 4), c=10.0)


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
    for part in (data / "intent_examples.jsonl", data / "shop_terms.txt"):
        digest.update(part.read_bytes())
    for module in (__file__, compiled.__file__):
        digest.update(Path(module).read_bytes())
    # The installed version, read without importing scikit-learn (a second) on every start.
    digest.update(f"{version('scikit-learn')} {np.__version__} {LOCAL_EMBEDDINGS_NAME}".encode())
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


def detect_language(text: str, *, cache_dir: Path | None = None) -> str:
    """The language (en, id, es) of a document or message, by the shipped language model."""
    return default_language_model(cache_dir).predict(text).label
