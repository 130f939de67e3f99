"""The deterministic test embedder and the embedding helpers."""

from __future__ import annotations

import math

import pytest

from cmp.knowledge.embeddings import HashEmbedder, batches, normalise

pytestmark = pytest.mark.unit


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_the_hash_embedder_is_deterministic_unit_length_and_lexical() -> None:
    embedder = HashEmbedder()
    first, again = HashEmbedder().embed_query("Refund policy"), embedder.embed_query("Refund policy")
    assert first == again and len(first) == 384
    assert math.isclose(math.sqrt(sum(x * x for x in first)), 1.0)
    near, far = embedder.embed_documents(["our refund policy explained", "shipping to Canada"])
    assert _cosine(first, near) > _cosine(first, far) + 0.2


def test_accents_and_case_do_not_change_the_vector() -> None:
    embedder = HashEmbedder(dimension=16)
    assert embedder.embed_query("Garantía") == embedder.embed_query("garantia")


def test_helpers() -> None:
    assert normalise([3.0, 4.0]) == [0.6, 0.8]
    assert normalise([0.0, 0.0]) == [0.0, 0.0]
    assert [list(b) for b in batches(["a", "b", "c"], 2)] == [["a", "b"], ["c"]]
