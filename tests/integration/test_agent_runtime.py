"""The agent runtime on real PostgreSQL: a Spanish question answered in Spanish from the tenant's knowledge
base with citations that quote the cited chunks, multi-turn sessions, fallbacks, idempotent retries,
feedback, the knowledge test, and another tenant's calls (never its data)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.capabilities.configuration import DEFAULT_FALLBACK, DEFAULT_HANDOFF
from cmp.conversations.extractive import ExtractiveAnswerer
from cmp.conversations.model import ChatRequest, ImageInput
from cmp.conversations.phrases import phrase
from cmp.conversations.services import AgentService
from cmp.db import Database
from cmp.errors import Forbidden, NotFound, ValidationFailed
from cmp.knowledge.embeddings import HashEmbedder
from cmp.knowledge.query_text import QUERY_MAX_CHARS
from cmp.knowledge.retrieval import KnowledgeSearch
from tests.knowledge_data import EMBEDDER, add_base, add_document, new_tenant
from tests.subscriptions import subscribe

pytestmark = pytest.mark.integration
CONVERSATION = {
    "welcomeMessage": "¡Hola! Soy Ana.",
    "fallbackMessage": "Lo siento, no tengo esa información.",
    "handoffMessage": "Le paso con una persona del equipo.",
}


@dataclass(frozen=True)
class Ctx:
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    principal: str = "api_key"
    key_id: uuid.UUID | None = None


@pytest.fixture
def agent(services: Services, db: Database) -> AgentService:
    return AgentService(
        services.unit_of_work,
        KnowledgeSearch(db.session, lambda: EMBEDDER),
        ExtractiveAnswerer,
        services.clock,
        services.ids,
    )


@pytest.fixture
def techcorp(db: Database) -> Ctx:
    tenant = new_tenant(db)
    subscription = subscribe(db, tenant, configuration={"conversation": CONVERSATION})
    base = add_base(db, tenant, subscription.id)
    add_document(db, base, [
        "The 65W USB-C charger is compatible with every Nova laptop.",
        "Returns are accepted within 30 days of delivery.",
    ], title="Product Catalog")  # fmt: skip
    add_document(db, base, [
        "El cargador USB-C de 65W es compatible con todos los portátiles Nova.",
        "Aceptamos devoluciones dentro de los 30 días posteriores a la entrega.",
    ], title="Catálogo de productos", language="es")  # fmt: skip
    return Ctx(tenant, subscription.id)


def test_a_spanish_question_gets_a_cited_spanish_answer_from_the_tenants_base(
    agent: AgentService, techcorp: Ctx, owner_conn: psycopg.Connection[Any]
) -> None:
    answer = agent.chat(techcorp, ChatRequest("¿El cargador de 65W es compatible con mi portátil Nova?"))
    assert answer.language == "es" and answer.grounded and answer.fallback is None
    assert answer.mode == "extractive" and answer.answer.startswith("De la base de conocimientos")
    assert "El cargador USB-C de 65W es compatible con todos los portátiles Nova. [1]" in answer.answer
    assert answer.citations and answer.citations[0].title == "Catálogo de productos"
    for cited in answer.citations:
        row = owner_conn.execute(
            "select c.tenant_id, c.content from knowledge_chunks c join knowledge_bases b on b.id = c.knowledge_base_id"
            " where c.id = %s and b.subscription_id = %s",
            (uuid.UUID(cited.chunk_id), techcorp.subscription_id),
        ).fetchone()
        assert row is not None and row[0] == techcorp.tenant_id and cited.snippet in row[1]
    stored = owner_conn.execute(
        "select role, content, language, tenant_id from conversation_messages where session_id = %s order by role desc",
        (answer.session_id,),
    ).fetchall()
    assert [(r[0], r[2], r[3]) for r in stored] == [
        ("user", None, techcorp.tenant_id),
        ("assistant", "es", techcorp.tenant_id),
    ]


def test_a_session_keeps_its_turns_and_is_the_subscriptions_own(
    agent: AgentService, techcorp: Ctx, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    first = agent.chat(techcorp, ChatRequest("What is the return policy?"))
    second = agent.chat(techcorp, ChatRequest("And the 65W charger?", session_id=first.session_id))
    assert second.session_id == first.session_id and second.language == "en"
    with db.unit_of_work(techcorp.tenant_id) as uow:
        assert [role for role, _ in uow.conversations.history(first.session_id, 5)] == [
            "user",
            "assistant",
        ] * 2
        assert uow.conversations.history(first.session_id, 1)[0] == ("user", "And the 65W charger?")
    count = owner_conn.execute(
        "select message_count from conversation_sessions where id = %s", (first.session_id,)
    )
    assert count.fetchone() == (4,)
    other = Ctx(techcorp.tenant_id, subscribe(db, techcorp.tenant_id).id)
    with pytest.raises(NotFound, match="session"):
        agent.chat(other, ChatRequest("hello", session_id=first.session_id))


def test_below_the_threshold_the_configured_fallback_answers(
    agent: AgentService, techcorp: Ctx, db: Database
) -> None:
    refused = agent.chat(techcorp, ChatRequest("¿Cuál es la capital de Mongolia?"))
    assert (refused.grounded, refused.fallback, refused.citations) == (False, "refuse", [])
    assert refused.answer == CONVERSATION["fallbackMessage"]
    escalating = subscribe(
        db, techcorp.tenant_id, configuration={"conversation": CONVERSATION, "rag": {"fallback": "escalate"}}
    )
    answer = agent.chat(
        Ctx(techcorp.tenant_id, escalating.id), ChatRequest("¿Cuál es la capital de Mongolia?")
    )
    assert (answer.fallback, answer.answer) == ("escalate", CONVERSATION["handoffMessage"])


def test_the_platform_s_default_fallback_is_said_in_the_user_s_language(
    agent: AgentService, techcorp: Ctx, db: Database
) -> None:
    defaults = {"fallbackMessage": DEFAULT_FALLBACK, "handoffMessage": DEFAULT_HANDOFF}
    for fallback, phrase_key in (("refuse", "refuse"), ("escalate", "escalate")):
        subscription = subscribe(
            db, techcorp.tenant_id, configuration={"conversation": defaults, "rag": {"fallback": fallback}}
        )
        ctx = Ctx(techcorp.tenant_id, subscription.id)
        spanish = agent.chat(ctx, ChatRequest("¿Cuál es la capital de Mongolia?"))
        assert (spanish.fallback, spanish.answer) == (fallback, phrase(phrase_key, "es"))
        english = agent.chat(ctx, ChatRequest("What is the capital of Mongolia?"))
        assert english.answer == phrase(phrase_key, "en") != defaults["fallbackMessage"]


def test_a_retried_turn_returns_the_first_answer_and_is_stored_once(
    agent: AgentService, techcorp: Ctx, owner_conn: psycopg.Connection[Any]
) -> None:
    request = ChatRequest("What is the return policy?", idempotency_key="retry-1")
    first, again = agent.chat(techcorp, request), agent.chat(techcorp, request)
    assert again.message_id == first.message_id and again.answer == first.answer
    assert again.citations == first.citations
    rows = owner_conn.execute(
        "select count(*) from conversation_messages where session_id = %s", (first.session_id,)
    ).fetchone()
    assert rows == (2,)
    usage = owner_conn.execute(
        "select metric, quantity from usage_records where subscription_id = %s order by metric",
        (techcorp.subscription_id,),
    ).fetchall()
    assert usage[1:] == [("messages", 1), ("tokens_in", first.tokens_in), ("tokens_out", first.tokens_out)]
    assert usage[0][0] == "compute_ms" and usage[0][1] >= 0  # the turn's compute time, once


def test_a_used_idempotency_key_with_another_message_is_a_422_naming_the_header(
    agent: AgentService, techcorp: Ctx, owner_conn: psycopg.Connection[Any]
) -> None:
    first = agent.chat(techcorp, ChatRequest("What is the return policy?", idempotency_key="collide-1"))
    with pytest.raises(ValidationFailed) as other:
        agent.chat(techcorp, ChatRequest("Is the 65W charger compatible?", idempotency_key="collide-1"))
    assert other.value.errors[0].path == "header.idempotency-key"
    assert "different message" in other.value.errors[0].message
    with pytest.raises(ValidationFailed):
        list(
            agent.stream(
                techcorp,
                ChatRequest("What is the return policy?", language="es", idempotency_key="collide-1"),
            )
        )
    again = agent.chat(techcorp, ChatRequest("What is the return policy?", idempotency_key="collide-1"))
    assert again.message_id == first.message_id
    rows = owner_conn.execute(
        "select count(*) from conversation_messages where subscription_id = %s", (techcorp.subscription_id,)
    ).fetchone()
    assert rows == (2,)


def test_a_greeting_answers_in_the_sessions_earlier_language(agent: AgentService, techcorp: Ctx) -> None:
    first = agent.chat(techcorp, ChatRequest("¿El cargador de 65W es compatible con mi portátil Nova?"))
    assert first.language == "es"
    for greeting in ("hello", "Hello", "hello there", "hola"):
        answer = agent.chat(techcorp, ChatRequest(greeting, session_id=first.session_id))
        assert answer.language == "es", greeting
        assert agent.chat(techcorp, ChatRequest(greeting)).language == "en", greeting  # the agent's default


class _RecordingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return super().embed_query(text)


def test_a_4000_character_message_is_answered_from_its_first_characters(
    services: Services, db: Database, techcorp: Ctx
) -> None:
    embedder = _RecordingEmbedder()
    agent = AgentService(
        services.unit_of_work, KnowledgeSearch(db.session, lambda: embedder), ExtractiveAnswerer,
        services.clock, services.ids,
    )  # fmt: skip
    message = ("Is the 65W USB-C charger compatible with my Nova laptop? " * 80)[:4000]
    answer = agent.chat(techcorp, ChatRequest(message))
    assert len(message) == 4000 and answer.language == "en" and answer.grounded
    assert "compatible with every Nova laptop" in answer.answer
    assert embedder.queries and all(len(q) <= QUERY_MAX_CHARS for q in embedder.queries)


def test_another_tenant_can_neither_chat_nor_rate(agent: AgentService, techcorp: Ctx, db: Database) -> None:
    answer = agent.chat(techcorp, ChatRequest("What is the return policy?"))
    intruder = Ctx(new_tenant(db), techcorp.subscription_id)
    with pytest.raises(NotFound):
        agent.chat(intruder, ChatRequest("What is the return policy?"))
    with pytest.raises(NotFound):
        agent.rate(intruder.tenant_id, techcorp.subscription_id, answer.message_id, "up", None)


def test_feedback_on_an_answer_replaces_the_previous_rating(
    agent: AgentService, techcorp: Ctx, owner_conn: psycopg.Connection[Any]
) -> None:
    answer = agent.chat(techcorp, ChatRequest("What is the return policy?"))
    agent.rate(techcorp.tenant_id, techcorp.subscription_id, answer.message_id, "down", "too short")
    agent.rate(techcorp.tenant_id, techcorp.subscription_id, answer.message_id, "up", None)
    rows = owner_conn.execute(
        "select rating, comment, tenant_id from message_feedback where message_id = %s", (answer.message_id,)
    ).fetchall()
    assert rows == [("up", None, techcorp.tenant_id)]
    with pytest.raises(NotFound):
        agent.rate(techcorp.tenant_id, techcorp.subscription_id, uuid.uuid4(), "up", None)


def test_images_are_refused_when_the_product_takes_none(agent: AgentService, techcorp: Ctx) -> None:
    with pytest.raises(Forbidden, match="images"):
        agent.chat(techcorp, ChatRequest("¿Este cargador?", image=ImageInput("image/png", b"\x89PNG")))


def test_the_knowledge_test_answers_without_storing(
    agent: AgentService, techcorp: Ctx, owner_conn: psycopg.Connection[Any]
) -> None:
    answer = agent.test(techcorp.tenant_id, techcorp.subscription_id, "Are returns accepted after delivery?")
    assert answer.grounded and "Returns are accepted within 30 days of delivery. [1]" in answer.answer
    stored = owner_conn.execute(
        "select count(*) from conversation_messages where subscription_id = %s", (techcorp.subscription_id,)
    ).fetchone()
    assert stored == (0,)


def test_the_widget_settings_come_from_the_configuration(agent: AgentService, techcorp: Ctx) -> None:
    widget = agent.widget(techcorp.tenant_id, techcorp.subscription_id)
    assert widget["welcome_message"] == CONVERSATION["welcomeMessage"]
    assert widget["branding_name"] == "Support Agent" and widget["type"] == "floating"
