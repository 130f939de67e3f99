"""The agent runtime's entities and rules: a chat request, the agent's settings resolved from a subscription
(capability snapshot + the buyer's configuration), an answer, and the checks on an image.

Sources of the rules: spec Part 1 (interfaces.chat features, configuration sections), Part 6 (`generation`:
history turns, grounding strict mode, fallback, confidence threshold; citations), Part 7 "Runtime
Execution" (language detection, answer in the user's language with citations).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cmp.errors import FieldError, Forbidden, ValidationFailed

if TYPE_CHECKING:
    from cmp.knowledge.grounding import Citation

Fallback = Literal["refuse", "general", "escalate"]
Mode = Literal["extractive", "generative"]
Rating = Literal["up", "down"]

IMAGE_TYPES: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
"""Image media types a chat accepts → the format name Bedrock Converse and OpenAI use."""
MAX_IMAGE_BYTES = 3_750_000
"""Bedrock Converse's per-image limit (3.75 MB), the smaller of the two providers'."""
MAX_MESSAGE_CHARS = 4000
DEFAULT_HISTORY_TURNS = 5
"""Turns of history when the product's RAG detail names none (spec Part 6 `historyTurns` default)."""
CITED_PASSAGES = 3
"""At most this many passages are cited in one answer."""


class Caller(Protocol):
    """Who is calling the agent: `cmp.gateway.context.RuntimeContext` satisfies it."""

    @property
    def tenant_id(self) -> uuid.UUID: ...

    @property
    def subscription_id(self) -> uuid.UUID: ...

    @property
    def principal(self) -> str: ...

    @property
    def key_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True)
class ImageInput:
    """An image sent with a message: its media type and raw bytes."""

    media_type: str
    data: bytes

    @property
    def format(self) -> str:
        return IMAGE_TYPES[self.media_type]

    @classmethod
    def parse(cls, media_type: str, data_base64: str) -> ImageInput:
        """The image of a request's `{"media_type", "data"}`; raises ValidationFailed at `image.media_type`
        (not PNG, JPEG, GIF or WebP) or `image.data` (not base64, empty, over MAX_IMAGE_BYTES)."""
        if media_type not in IMAGE_TYPES:
            raise ValidationFailed(
                "the image is not supported",
                errors=[FieldError("image.media_type", f"must be one of {', '.join(IMAGE_TYPES)}")],
            )
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(
                "the image is not valid", errors=[FieldError("image.data", "must be base64-encoded bytes")]
            ) from None
        if not data or len(data) > MAX_IMAGE_BYTES:
            raise ValidationFailed(
                "the image is not valid",
                errors=[
                    FieldError("image.data", f"must hold 1 to {MAX_IMAGE_BYTES} bytes (got {len(data)})")
                ],
            )
        return cls(media_type, data)


@dataclass(frozen=True)
class ChatRequest:
    """One user turn. `language` (BCP 47) overrides detection; `idempotency_key` makes a retry return the
    first answer."""

    message: str
    session_id: uuid.UUID | None = None
    image: ImageInput | None = None
    language: str | None = None
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        """SHA-256 (64 hex digits) of what the turn asks (message, session, language, image), to tell a
        retry from another message under the same Idempotency-Key."""
        asked = {
            "message": self.message,
            "session_id": str(self.session_id) if self.session_id else None,
            "language": self.language,
            "image": [self.image.media_type, hashlib.sha256(self.image.data).hexdigest()]
            if self.image
            else None,
        }
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ChatAnswer:
    """The agent's answer, as `POST /v1/agents/{id}/chat` returns it."""

    session_id: uuid.UUID
    message_id: uuid.UUID
    answer: str
    language: str
    grounded: bool
    confidence: float
    fallback: Fallback | None
    mode: Mode
    citations: list[Citation]
    tokens_in: int
    tokens_out: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "message_id": str(self.message_id),
            "answer": self.answer,
            "language": self.language,
            "grounded": self.grounded,
            "confidence": round(self.confidence, 4),
            "fallback": self.fallback,
            "mode": self.mode,
            "citations": [c.as_dict() for c in self.citations],
            "usage": {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out},
        }


@dataclass(frozen=True)
class AgentSettings:
    """What one subscription's agent does, resolved from its capability snapshot and the buyer's sections.

    `persona`, `branding`, `conversation`, `widget` are the stored (or default) section documents in
    camelCase ({} when the product does not open the section).
    """

    product_name: str
    top_k: int
    method: Literal["vector", "keyword", "hybrid"]
    reranking: bool
    citations: bool
    strict: bool
    fallback: Fallback
    threshold: float | None
    """The product's confidence threshold; None: the query embedder's (`grounding.default_threshold`)."""
    history_turns: int
    image_input: bool
    streaming: bool
    persona: dict[str, Any] = field(default_factory=dict)
    branding: dict[str, Any] = field(default_factory=dict)
    conversation: dict[str, Any] = field(default_factory=dict)
    widget: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls, product_name: str, capabilities: dict[str, Any], configuration: dict[str, Any]
    ) -> AgentSettings:
        """The settings of a subscription: each section as the buyer saved it, else its default
        (`cmp.capabilities.configuration.default_configuration`); the threshold and history from the
        product's RAG detail (`generation.grounding.confidenceThreshold` when above 0, else None;
        `generation.context.historyTurns` when `includeHistory`), and no
        history at all unless `interfaces.chat.features.multiTurn` is on."""
        # The capability models (~60 pydantic classes) load on the first chat, not with the function.
        from cmp.capabilities.configuration import default_configuration
        from cmp.capabilities.models import ProductCapabilities

        snapshot = ProductCapabilities.from_document(capabilities)
        sections = {**default_configuration(snapshot, product_name=product_name), **configuration}
        rag = sections.get("rag") or {}
        product_rag = snapshot.configuration.rag
        detail = product_rag.detail
        threshold = None
        history = DEFAULT_HISTORY_TURNS
        if detail is not None:
            if detail.generation.grounding.confidence_threshold > 0:
                threshold = detail.generation.grounding.confidence_threshold
            if detail.generation.context.include_history:
                history = detail.generation.context.history_turns
        features = snapshot.interfaces.chat.features
        return cls(
            product_name=product_name,
            top_k=int(rag.get("topK", product_rag.retrieval.top_k)),
            method=rag.get("method", product_rag.retrieval.method),
            reranking=bool(rag.get("reranking", product_rag.retrieval.reranking)),
            citations=bool(rag.get("citations", product_rag.retrieval.citations)),
            strict=bool(rag.get("strictMode", product_rag.grounding.strict_mode)),
            fallback=rag.get("fallback", product_rag.grounding.fallback),
            threshold=threshold,
            history_turns=history if features.multi_turn else 0,
            image_input=features.image_input,
            streaming=features.streaming,
            persona=sections.get("persona") or {},
            branding=sections.get("branding") or {},
            conversation=sections.get("conversation") or {},
            widget=sections.get("widget") or {},
        )

    def check_image(self, image: ImageInput | None, model_name: str, model_vision: bool) -> None:
        """Refuse an image the product or the model cannot take: Forbidden (403) at `image` naming
        `interfaces.chat.features.imageInput` when the product does not accept images; ValidationFailed
        (422) at `image` naming the model when it cannot read them."""
        if image is None:
            return
        if not self.image_input:
            raise Forbidden(
                "this agent does not accept images",
                errors=[
                    FieldError("image", "interfaces.chat.features.imageInput is disabled for this product")
                ],
            )
        if not model_vision:
            raise ValidationFailed(
                "this agent's language model cannot read images",
                errors=[FieldError("image", f"the model {model_name} has no vision input; send text only")],
            )

    def response_language(
        self, detected: str | None, requested: str | None, earlier: str | None = None
    ) -> str:
        """The answer's language (ISO 639-1 or BCP 47): the request's `language`, else the persona's fixed
        language (not `auto`), else the detected one, else (a message too short or unsure to tell,
        `language.detect`) the session's `earlier` language, else English (the agent's default when its
        persona answers in the user's language)."""
        fixed = self.persona.get("language")
        if requested:
            return requested
        if fixed and fixed != "auto":
            return str(fixed)
        return detected or earlier or "en"
