"""The offline model's learned parts: intent and language classifiers.

Trained from the labelled examples shipped in `data/intent_examples.jsonl` (a few hundred
customer messages in English, Indonesian and Spanish) on first use, in well under a second,
and cached for the process. Deterministic: the same examples give the same model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

from carebot.domain import ORDER_NUMBER


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
    return Pipeline([("features", features), ("model", LogisticRegression(C=c, max_iter=5000))])


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    confidence: float


class TextClassifier:
    """A fitted text classifier that answers with a label and its probability."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    @classmethod
    def fit(cls, texts: list[str], labels: list[str], *, char_range: tuple[int, int], c: float) -> TextClassifier:
        pipeline = _text_pipeline(char_range, c)
        pipeline.fit([normalise(t) for t in texts], labels)
        return cls(pipeline)

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self._pipeline.classes_]

    def predict(self, text: str) -> Prediction:
        probabilities = self._pipeline.predict_proba([normalise(text)])[0]
        best = int(probabilities.argmax())
        return Prediction(label=str(self._pipeline.classes_[best]), confidence=float(probabilities[best]))


@dataclass(frozen=True, slots=True)
class TextModels:
    intent: TextClassifier
    language: TextClassifier


def train_text_models(examples: list[Example]) -> TextModels:
    texts = [e.text for e in examples]
    return TextModels(
        intent=TextClassifier.fit(texts, [e.intent for e in examples], char_range=(2, 5), c=20.0),
        language=TextClassifier.fit(texts, [e.language for e in examples], char_range=(1, 4), c=10.0),
    )


@cache
def default_text_models() -> TextModels:
    """The models trained on the shipped examples, built once per process on first use."""
    return train_text_models(load_examples())


def detect_language(text: str) -> str:
    """The language (en, id, es) of a document or message, by the shipped language model."""
    return default_text_models().language.predict(text).label
