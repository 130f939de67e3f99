"""Embedders that run in the process: the deterministic hashing embedder for tests, and helpers shared by
every adapter (normalisation, batching).

`HashEmbedder` is for unit and integration tests only: it hashes accent-folded words and their character
trigrams into signed buckets (the "hashing trick"), so texts sharing words are near and the same text is
always the same vector, with no model and no I/O. It knows no meaning and no language.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence

from cmp.errors import DomainError

_WORD = re.compile(r"\w+", re.UNICODE)


class EmbeddingUnavailable(DomainError):
    """The embedding provider did not answer (network, throttling, bad credentials): the job is retried."""

    status = 503
    code = "embedding_unavailable"


def normalise(vector: Sequence[float]) -> list[float]:
    """`vector` scaled to unit L2 length (a zero vector stays zero)."""
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else [0.0 for _ in vector]


def batches(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """`texts` in consecutive slices of at most `size` (≥ 1)."""
    for start in range(0, len(texts), max(size, 1)):
        yield texts[start : start + size]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class HashEmbedder:
    """Deterministic test embedder: `dimension` floats (default 384, the size of the HNSW index of
    migration 0014), unit length, identical for identical text."""

    def __init__(self, dimension: int = 384, model: str = "hash-test") -> None:
        self.model = model
        self.dimension = dimension

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for word in _WORD.findall(_fold(text)):
            features = [word] + [word[i : i + 3] for i in range(max(len(word) - 2, 0))]
            for n, feature in enumerate(features):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "big") % self.dimension
                sign = 1.0 if digest[4] & 1 else -1.0
                vector[bucket] += sign * (2.0 if n == 0 else 1.0)
        return normalise(vector)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """The query's vector (the same function as for passages)."""
        return self._vector(text)
