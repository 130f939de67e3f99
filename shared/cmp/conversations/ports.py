"""What the agent runtime needs: a language model, and the repository of sessions, messages and feedback.

Implementations: `cmp.conversations.extractive.ExtractiveAnswerer` (the offline default),
`cmp.conversations.providers.BedrockConverse` and `.OpenAICompatible` (production);
`cmp.conversations.repository.ConversationRepository` (PostgreSQL, migration 0015).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from cmp.conversations.model import ChatAnswer, ImageInput, Rating


@dataclass(frozen=True)
class Passage:
    """A retrieved passage given to the model: its citation number, text and language, and the verbatim
    snippet its citation quotes."""

    index: int
    text: str
    language: str | None
    snippet: str
    title: str | None = None


@dataclass(frozen=True)
class Prompt:
    """Everything a model answers from. `system` is the assembled system prompt (persona, branding,
    instructions, language, grounding rules and the numbered context); `history` the earlier turns as
    (role, text), oldest first; `passages` the same context as data (the extractive answerer quotes them);
    `language` the answer's language (ISO 639-1 / BCP 47)."""

    system: str
    question: str
    language: str
    history: Sequence[tuple[Literal["user", "assistant"], str]] = ()
    passages: Sequence[Passage] = ()
    image: ImageInput | None = None
    citations: bool = True


@dataclass(frozen=True)
class Completion:
    """A model's answer and its token counts (the provider's own, or words for the extractive answerer)."""

    text: str
    tokens_in: int
    tokens_out: int


class LanguageModel(Protocol):
    """Answers a prompt. `name` names the model in errors; `vision` says whether it reads images;
    `generative` is False for the extractive answerer (it can only quote passages).

    Raises `cmp.conversations.providers.ModelUnavailable` (503) when the provider cannot answer.
    """

    name: str
    vision: bool
    generative: bool

    def complete(self, prompt: Prompt) -> Completion: ...

    def stream(self, prompt: Prompt) -> Iterator[str | Completion]:
        """Text pieces as they are produced, then the whole `Completion` last."""
        ...


class ConversationRepository(Protocol):
    def session_exists(self, session_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
        """Whether the session belongs to the subscription (in the unit of work's tenant)."""
        ...

    def history(self, session_id: uuid.UUID, turns: int) -> list[tuple[Literal["user", "assistant"], str]]:
        """The last `turns` user/assistant exchanges of the session as (role, text), oldest first."""
        ...

    def answered(self, subscription_id: uuid.UUID, idempotency_key: str) -> ChatAnswer | None:
        """The answer already given to the user message with this idempotency key, if any."""
        ...

    def record_turn(
        self,
        caller_principal: str,
        api_key_id: uuid.UUID | None,
        subscription_id: uuid.UUID,
        user_message_id: uuid.UUID,
        message: str,
        image_media_type: str | None,
        idempotency_key: str | None,
        answer: ChatAnswer,
        new_session: bool,
    ) -> bool:
        """Store the user's message and the answer (creating the session when `new_session`); returns False
        when a concurrent request with the same idempotency key stored its turn first (nothing written)."""
        ...

    def rate(
        self, message_id: uuid.UUID, subscription_id: uuid.UUID, rating: Rating, comment: str | None
    ) -> None:
        """Record (or replace) the feedback on an answer; raises NotFound when `message_id` is not an answer
        of the subscription."""
        ...
