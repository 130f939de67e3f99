"""The agent runtime's use cases: answer a chat turn (whole or streamed), test the knowledge base, rate an
answer, and the widget's settings (spec Part 7 "Runtime Execution"; Part 6 grounding and citations).

A turn, in order: load the subscription (another tenant's is a 404) and resolve its settings; refuse an
image the product or model cannot take; return the first answer again for a repeated Idempotency-Key (a 422
when the key came with another message); detect the language (a message too short or unsure to tell answers
in the session's earlier language); retrieve (`services.knowledge_search`); decide grounding
(`grounding.grounded`: confidence against the threshold, and for a hybrid search the keyword half's
agreement; otherwise the configured fallback: refuse, answer from general knowledge, or escalate with the hand-off
message); choose the passages close to the best one (`grounding.supporting`); assemble the prompt with the
session's last turns; ask the model; keep the citations the answer draws on (`grounding.drawn_on`: those it
quotes or names); store the user's message and the
answer, and meter the turn (`messages`, `tokens_in`, `tokens_out`, keyed by the user message's id), in one
transaction; a retried turn (same Idempotency-Key) finds the first answer and meters nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cmp.conversations.language import detect
from cmp.conversations.model import (
    CITED_PASSAGES,
    AgentSettings,
    Caller,
    ChatAnswer,
    ChatRequest,
    Fallback,
    Mode,
    Rating,
)
from cmp.conversations.phrases import phrase
from cmp.conversations.ports import Completion, LanguageModel, Passage, Prompt
from cmp.conversations.prompt import assemble
from cmp.db.uow import UnitOfWorkFactory
from cmp.errors import Conflict, FieldError, ValidationFailed
from cmp.knowledge.grounding import (
    Citation,
    citation,
    confidence,
    default_agreement,
    default_margin,
    default_threshold,
    drawn_on,
    grounded,
    supporting,
)
from cmp.knowledge.retrieval import KnowledgeSearch, Method, SearchHit
from cmp.metering.model import UsageEvent, compute_ms
from cmp.ports import Clock, IdGenerator
from cmp.text import with_article

Search = Callable[[str, int, Method], list[SearchHit]]
"""Retrieval for a turn: (message, top_k, method) → ranked hits (`KnowledgeSearch.search` or
`search_product` with the tenant and the subscription or product bound)."""


class AgentService:
    """`services.agent`. `model` builds the configured language model on first use."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        search: KnowledgeSearch,
        model: Callable[[], LanguageModel],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._search = search
        self._model = model
        self._clock = clock
        self._ids = ids

    # ── reading the subscription ─────────────────────────────────────────

    def settings(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID) -> AgentSettings:
        """The subscription's agent settings; raises NotFound (unknown or another tenant's subscription) or
        Conflict (an ended subscription, or a product that is not an agent)."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
        if not subscription.is_live:
            raise Conflict(
                f"subscription {subscription_id} is {subscription.status}; its agent no longer answers"
            )
        if subscription.category != "agent":
            raise Conflict(
                f"subscription {subscription_id} is to {with_article(subscription.category)}, not an agent"
            )
        return AgentSettings.resolve(
            subscription.product_name, subscription.capabilities, subscription.configuration
        )

    def widget(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID) -> dict[str, Any]:
        """What the embeddable widget renders: `interfaces.widget` settings (type, theme, colors, position,
        size, avatar, launcher), the conversation's welcome message and variants, suggested prompts, exit
        message and feedback request, the branding name and the persona's name and avatar, and whether the
        agent streams and takes images."""
        settings = self.settings(tenant_id, subscription_id)
        widget, chat, persona = settings.widget, settings.conversation, settings.persona
        return {
            "subscription_id": str(subscription_id),
            "type": widget.get("type"),
            "theme": widget.get("theme"),
            "colors": widget.get("colors"),
            "position": widget.get("position"),
            "size": widget.get("size"),
            "avatar": widget.get("avatar") or persona.get("avatar"),
            "launcher": widget.get("launcher"),
            "welcome_message": chat.get("welcomeMessage"),
            "welcome_variants": chat.get("welcomeVariants") or [],
            "suggested_prompts": chat.get("suggestedPrompts") or [],
            "exit_message": chat.get("exitMessage"),
            "feedback_request": bool(chat.get("feedbackRequest")),
            "branding_name": settings.branding.get("companyName") or settings.product_name,
            "persona_name": persona.get("name") or settings.product_name,
            "streaming": settings.streaming,
            "image_input": settings.image_input,
        }

    # ── a turn ───────────────────────────────────────────────────────────

    def chat(self, ctx: Caller, request: ChatRequest) -> ChatAnswer:
        """Answer one turn and store it; raises NotFound (subscription or session), Conflict, Forbidden or
        ValidationFailed (an image the product or model cannot take), ModelUnavailable (503)."""
        answer: ChatAnswer | None = None
        for item in self.stream(ctx, request):
            if isinstance(item, ChatAnswer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, ctx: Caller, request: ChatRequest) -> Iterator[str | ChatAnswer]:
        """The answer's text pieces as the model produces them, then the stored `ChatAnswer` (errors as
        `chat`, raised before the first piece). The turn's usage is recorded with it, in its transaction and
        once per turn: `messages`, `tokens_in`, `tokens_out` and `compute_ms` (from the turn's start to
        storing it; a replayed turn records nothing)."""
        started = self._clock.now()
        settings, model, known = self._admit(ctx, request)
        if known is not None:
            yield known.answer
            yield known
            return
        session_id = request.session_id or self._ids.new_id()
        history: list[tuple[Any, str]] = []
        earlier: str | None = None
        if request.session_id is not None:
            with self._uow(ctx.tenant_id) as uow:
                earlier = uow.conversations.session_language(request.session_id, ctx.subscription_id)
                history = uow.conversations.history(request.session_id, settings.history_turns)
        search = partial(self._search.search, ctx.tenant_id, ctx.subscription_id)
        draft = self._draft(search, settings, model, request, history, earlier)
        completion: Completion | None = draft.fixed
        if completion is None:
            assert draft.prompt is not None
            for piece in model.stream(draft.prompt):
                if isinstance(piece, Completion):
                    completion = piece
                else:
                    yield piece
        else:
            yield completion.text
        assert completion is not None
        answer = draft.answer(session_id, self._ids.new_id(), completion)
        user_message_id = self._ids.new_id()
        with self._uow(ctx.tenant_id) as uow:
            stored = uow.conversations.record_turn(
                ctx.principal, ctx.key_id, ctx.subscription_id, user_message_id, request.message,
                request.image.media_type if request.image else None, request.idempotency_key,
                request.fingerprint, answer, new_session=request.session_id is None,
            )  # fmt: skip
            if not stored:
                first = uow.conversations.answered(ctx.subscription_id, request.idempotency_key or "")
                uow.rollback()
                assert first is not None
                yield _replay(first, request)
                return
            now = self._clock.now()
            for metric, quantity in (
                ("messages", 1),
                ("tokens_in", answer.tokens_in),
                ("tokens_out", answer.tokens_out),
                ("compute_ms", compute_ms(started, now)),
            ):
                if quantity or metric == "compute_ms":
                    uow.usage.record(UsageEvent(
                        ctx.subscription_id, metric, quantity, now, f"chat:{user_message_id}:{metric}",
                        api_key_id=ctx.key_id,
                    ))  # fmt: skip
            uow.commit()
        yield answer

    def test(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID, question: str) -> ChatAnswer:
        """ "Test knowledge base": the answer the agent would give to `question` as a new conversation, with
        its sources; nothing is stored (session and message ids are fresh and unsaved)."""
        settings = self.settings(tenant_id, subscription_id)
        return self._test(partial(self._search.search, tenant_id, subscription_id), settings, question)

    def test_product(self, tenant_id: uuid.UUID | str, product_id: uuid.UUID, question: str) -> ChatAnswer:
        """The seller's "Test knowledge base": the answer the product's agent would give to `question` from
        the product's own knowledge base alone (shared or not), with the product's default settings (those
        a new subscription starts with); nothing is stored. Raises NotFound (another tenant's product) or
        Conflict (a product that is not an agent)."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(product_id)
        if product.category != "agent":
            raise Conflict(f"product {product_id} is {with_article(product.category)}, not an agent")
        name = product.listing.name or str(product_id)
        settings = AgentSettings.resolve(name, product.capabilities.to_document(), {})
        return self._test(partial(self._search.search_product, tenant_id, product_id), settings, question)

    def _test(self, search: Search, settings: AgentSettings, question: str) -> ChatAnswer:
        model = self._model()
        draft = self._draft(search, settings, model, ChatRequest(question), [])
        if draft.fixed is not None:
            completion = draft.fixed
        else:
            assert draft.prompt is not None
            completion = model.complete(draft.prompt)
        return draft.answer(self._ids.new_id(), self._ids.new_id(), completion)

    def rate(self, tenant_id: uuid.UUID | str, subscription_id: uuid.UUID, message_id: uuid.UUID,
             rating: Rating, comment: str | None) -> None:  # fmt: skip
        """Record the end user's rating of an answer (again: replaces it); NotFound for a message that is not
        one of the subscription's answers."""
        with self._uow(tenant_id) as uow:
            uow.conversations.rate(message_id, subscription_id, rating, comment)
            uow.commit()

    # ── steps ────────────────────────────────────────────────────────────

    def _admit(
        self, ctx: Caller, request: ChatRequest
    ) -> tuple[AgentSettings, LanguageModel, ChatAnswer | None]:
        settings = self.settings(ctx.tenant_id, ctx.subscription_id)
        model = self._model()
        settings.check_image(request.image, model.name, model.vision)
        known = None
        if request.idempotency_key:
            with self._uow(ctx.tenant_id) as uow:
                first = uow.conversations.answered(ctx.subscription_id, request.idempotency_key)
            known = _replay(first, request) if first else None
        return settings, model, known

    def _draft(
        self,
        search: Search,
        settings: AgentSettings,
        model: LanguageModel,
        request: ChatRequest,
        history: list[tuple[Any, str]],
        earlier: str | None = None,
    ) -> _Draft:
        detected = detect(request.message)
        language = settings.response_language(detected, request.language, earlier)
        mode: Mode = "generative" if model.generative else "extractive"
        hits = search(request.message, settings.top_k, settings.method)
        score = confidence(request.message, hits)
        threshold = settings.threshold
        if threshold is None:
            threshold = default_threshold(self._search.query_model)
        margin = default_margin(self._search.query_model)
        support = supporting(hits, threshold, language.split("-")[0], CITED_PASSAGES, margin)
        agreement = default_agreement(self._search.query_model)
        if grounded(score, threshold, hits, settings.method, detected, agreement) and support:
            cited = [citation(i, hit, request.message) for i, hit in enumerate(support, start=1)]
            passages = [
                Passage(c.index, hit.content, hit.language, c.snippet, c.title)
                for c, hit in zip(cited, support, strict=True)
            ]
            prompt = assemble(settings, request.message, language, passages, history, request.image)
            return _Draft(
                language, score, None, mode, prompt=prompt, citations=cited if settings.citations else []
            )
        fallback = settings.fallback
        if fallback == "general" and model.generative:
            prompt = assemble(settings, request.message, language, [], history, request.image, grounded=False)
            return _Draft(language, score, "general", mode, prompt=prompt)
        if fallback == "escalate":
            text = _own_message(settings.conversation, "handoffMessage", "escalate", language)
        else:
            fallback = "refuse"
            text = _own_message(settings.conversation, "fallbackMessage", "refuse", language)
        return _Draft(language, score, fallback, mode, fixed=Completion(text, 0, 0))


def _own_message(conversation: dict[str, Any], key: str, phrase_key: str, language: str) -> str:
    """The buyer's own `key` message, else the runtime's `phrase_key` sentence in the user's `language`. The
    platform's English default that a new configuration starts with (`cmp.capabilities.configuration`) is
    not the buyer's own: a Spanish question is refused in Spanish unless the buyer wrote another message."""
    from cmp.capabilities.configuration import DEFAULT_FALLBACK, DEFAULT_HANDOFF

    text = conversation.get(key)
    return text if text and text not in (DEFAULT_FALLBACK, DEFAULT_HANDOFF) else phrase(phrase_key, language)


def _replay(first: tuple[ChatAnswer, str | None], request: ChatRequest) -> ChatAnswer:
    """The first answer given under the request's Idempotency-Key, when the request is that turn again;
    raises ValidationFailed (422, at `header.idempotency-key`) when the key came with another message,
    session, language or image. A turn stored before its fingerprint was kept (None) is replayed."""
    answer, fingerprint = first
    if fingerprint is not None and fingerprint != request.fingerprint:
        raise ValidationFailed(
            "this Idempotency-Key was used with a different message; send a new key for a new message",
            errors=[FieldError("header.idempotency-key", "this key was used with a different message")],
        )
    return answer


@dataclass
class _Draft:
    """A turn after retrieval: a prompt for the model, or a fixed fallback message (`fixed`)."""

    language: str
    score: float
    fallback: Fallback | None
    mode: Mode
    prompt: Prompt | None = None
    fixed: Completion | None = None
    citations: list[Citation] = field(default_factory=list)

    def answer(self, session_id: uuid.UUID, message_id: uuid.UUID, completion: Completion) -> ChatAnswer:
        return ChatAnswer(
            session_id=session_id,
            message_id=message_id,
            answer=completion.text,
            language=self.language,
            grounded=self.fallback is None,
            confidence=self.score,
            fallback=self.fallback,
            mode=self.mode,
            citations=drawn_on(self.citations, completion.text),
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
        )
