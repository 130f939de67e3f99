"""What the agent runtime needs from a language model: the prompt it answers and the port itself.

Implementations: `cmp.conversations.extractive.ExtractiveAnswerer` (the offline default),
`cmp.conversations.providers.BedrockConverse` and `.OpenAICompatible` (production). Sessions, messages and
feedback are `uow.conversations` (`cmp.conversations.repository.ConversationRepository`, migration 0015).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from cmp.conversations.model import ImageInput


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
