"""Fitted scikit-learn text models as numpy arrays and dicts, for prediction without scikit-learn.

Importing scikit-learn and unpickling its estimators takes about a second, the larger part of a
cold start; training is the only step that needs it. After fitting, each estimator is copied
into the small objects below, which reproduce scikit-learn 1.9's `transform` and
`predict_proba` for the settings the text models use (checked against scikit-learn itself in
tests/test_offline_model.py, to 1e-9). They also read one sentence faster: a sum over the few
features present instead of a sparse matrix product.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from numpy.typing import NDArray
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

# scikit-learn's `_white_spaces`: runs of whitespace become one space before char n-grams.
_WHITE_SPACES = re.compile(r"\s\s+")
# The TfidfVectorizer settings these copies reproduce besides analyzer, ngram_range and
# token_pattern; fitting with any other value must fail here rather than predict differently.
_REPRODUCED_TFIDF = {
    "input": "content",
    "lowercase": True,
    "preprocessor": None,
    "tokenizer": None,
    "strip_accents": None,
    "stop_words": None,
    "vocabulary": None,
    "binary": False,
    "norm": "l2",
    "use_idf": True,
    "sublinear_tf": True,
    "dtype": np.float64,
}


@dataclass(frozen=True, slots=True)
class TfidfFeatures:
    """A fitted `TfidfVectorizer`: one document's non-zero features, as column indices and weights."""

    analyzer: str
    """`char_wb` or `word`."""
    ngram_range: tuple[int, int]
    token_pattern: str
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]

    @classmethod
    def from_fitted(cls, vectorizer: TfidfVectorizer) -> TfidfFeatures:
        params = vectorizer.get_params()
        changed = {k: params[k] for k, v in _REPRODUCED_TFIDF.items() if params[k] != v}
        if changed or params["analyzer"] not in ("char_wb", "word"):
            raise ValueError(f"TfidfFeatures does not reproduce {changed or params['analyzer']!r}")
        low, high = params["ngram_range"]
        return cls(
            analyzer=params["analyzer"],
            ngram_range=(int(low), int(high)),
            token_pattern=params["token_pattern"],
            vocabulary={str(term): int(index) for term, index in vectorizer.vocabulary_.items()},
            idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        )

    @property
    def size(self) -> int:
        return len(self.idf)

    def _ngrams(self, text: str) -> Iterator[str]:
        """scikit-learn's analyzer (`_char_wb_ngrams` or `_word_ngrams`) after lowercasing."""
        text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "char_wb":
            for word in _WHITE_SPACES.sub(" ", text).split():
                padded = f" {word} "
                for n in range(low, high + 1):
                    yield from (padded[start : start + n] for start in range(max(len(padded) - n, 0) + 1))
                    if len(padded) <= n:  # a short word counts once, not once per longer n
                        break
        else:
            tokens = re.findall(self.token_pattern, text)
            for n in range(low, high + 1):
                yield from (" ".join(tokens[start : start + n]) for start in range(len(tokens) - n + 1))

    def transform(self, text: str) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """The non-zero columns of the document's row: sublinear tf × idf, L2-normalised."""
        counts: dict[int, int] = {}
        for gram in self._ngrams(text):
            index = self.vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
        weights = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        weights *= self.idf[columns]
        norm = math.sqrt(float(weights @ weights))
        if norm > 0:  # an empty row stays empty, as in scikit-learn's normalize
            weights /= norm
        return columns, weights


@dataclass(frozen=True, slots=True)
class LinearClassifier:
    """A fitted `LogisticRegression`'s `predict_proba` as scikit-learn 1.9 computes it: the logistic
    function for two classes, softmax over the decision scores for more, in the fitted dtype (the
    sentence-vector model is float32, like its inputs)."""

    labels: tuple[str, ...]
    coef: NDArray[Any]
    """(classes, features), or (1, features) for two classes."""
    intercept: NDArray[Any]

    @classmethod
    def from_fitted(cls, model: LogisticRegression) -> LinearClassifier:
        return cls(labels=tuple(str(label) for label in model.classes_), coef=model.coef_, intercept=model.intercept_)

    def probabilities(self, scores: NDArray[Any]) -> NDArray[Any]:
        """One row of probabilities (in `labels` order) per row of decision scores."""
        if len(self.labels) == 2:
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1 - positive, positive], axis=1)
        exponentials: NDArray[Any] = np.exp(scores - scores.max(axis=1, keepdims=True))
        exponentials /= exponentials.sum(axis=1, keepdims=True)
        return exponentials

    def predict_proba(self, features: NDArray[Any]) -> NDArray[Any]:
        """As scikit-learn's, for dense rows of features."""
        return self.probabilities(features @ self.coef.T + self.intercept)


@dataclass(frozen=True, slots=True)
class KernelClassifier:
    """Kernel ridge regression on sentence vectors, fitted to one-hot labels. A vector is projected
    on the training vectors' main directions and scaled back to unit length; its score for each
    label is its RBF kernel against every (projected) training vector, exp(-gamma |x - s|^2) =
    exp(2 gamma (x.s - 1)), weighted by `weights`; probabilities are a softmax of `scale` x scores."""

    labels: tuple[str, ...]
    projection: NDArray[np.float32]
    """(dimensions, components)."""
    support: NDArray[np.float32]
    """(examples, components): the training vectors, projected."""
    weights: NDArray[np.float32]
    """(examples, classes)."""
    offset: NDArray[np.float32]
    gamma: float
    scale: float

    def project(self, features: NDArray[Any]) -> NDArray[np.float32]:
        projected: NDArray[np.float32] = np.asarray(features, dtype=np.float32) @ self.projection
        projected /= np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)
        return projected

    def scores(self, features: NDArray[Any]) -> NDArray[np.float32]:
        with _one_blas_thread():
            kernel = np.exp(2.0 * self.gamma * (self.project(features) @ self.support.T - 1.0))
            scores: NDArray[np.float32] = kernel @ self.weights + self.offset
        return scores

    def predict_proba(self, features: NDArray[Any]) -> NDArray[np.float64]:
        """One row of probabilities (in `labels` order) per row of unit-length vectors."""
        scores = self.scale * self.scores(features).astype(np.float64)
        exponentials: NDArray[np.float64] = np.exp(scores - scores.max(axis=1, keepdims=True))
        exponentials /= exponentials.sum(axis=1, keepdims=True)
        return exponentials


@cache
def _blas_threads() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread() -> AbstractContextManager[Any]:
    """One BLAS thread for a message's products with the support vectors (half a millisecond): on
    several, OpenBLAS's idle threads spin after each product and doubled a turn's CPU (17 -> 37 ms)."""
    return _blas_threads().limit(limits=1, user_api="blas")  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class TextPipeline:
    """A fitted `Pipeline` of a `FeatureUnion` of `TfidfVectorizer`s and a `LogisticRegression`."""

    features: tuple[TfidfFeatures, ...]
    """In the union's order: their columns are laid side by side."""
    model: LinearClassifier

    @classmethod
    def from_fitted(cls, pipeline: Pipeline) -> TextPipeline:
        union = pipeline.named_steps["features"]
        if union.transformer_weights is not None:
            raise ValueError("TextPipeline does not reproduce transformer weights")
        return cls(
            features=tuple(TfidfFeatures.from_fitted(v) for _, v in union.transformer_list),
            model=LinearClassifier.from_fitted(pipeline.named_steps["model"]),
        )

    def predict_proba(self, text: str) -> NDArray[np.float64]:
        """The probabilities of one text, in the model's `labels` order."""
        scores = self.model.intercept.astype(np.float64)
        offset = 0
        for block in self.features:
            columns, weights = block.transform(text)
            scores = scores + self.model.coef[:, columns + offset] @ weights
            offset += block.size
        return np.asarray(self.model.probabilities(scores[None, :])[0], dtype=np.float64)
