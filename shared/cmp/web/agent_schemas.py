"""Request and response models of the agent runtime API (chat, feedback, widget settings) and of a
subscription's knowledge search and test (contracts: `POST /v1/agents/{id}/chat` and its siblings)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.parsing import show
from cmp.conversations.language import LANGUAGES
from cmp.conversations.model import IMAGE_TYPES, MAX_MESSAGE_CHARS
from cmp.knowledge.chunking import CHUNK_LANGUAGES
from cmp.web.schemas import ApiModel, RequestModel

if TYPE_CHECKING:
    from cmp.knowledge.retrieval import SearchFilters, SearchHit

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS)]


_ISO_HINT = "give the time as ISO 8601 text, e.g. 2026-01-31 or 2026-01-31T09:30:00+01:00"


def _iso_text(value: Any) -> datetime:
    """A time must be ISO 8601 text, read by `datetime.fromisoformat` (Python 3.11: extended and basic
    formats, `20260131` is 31 January 2026): neither a number nor a digit string is read as a Unix time.
    Raises ValueError with the expected form otherwise."""
    if not isinstance(value, str):
        raise ValueError(_ISO_HINT)
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{_ISO_HINT} (got {value[:40]!r})") from None


def _utc_by_default(value: datetime) -> datetime:
    """A time without an offset is UTC; a bare date is its day's 00:00 UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


When = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_utc_by_default),
    Field(strict=False),
    WithJsonSchema(
        {
            "type": "string",
            "description": "ISO 8601: a date (its 00:00 UTC) or a date and time, with an offset (UTC without one)",
            "examples": ["2026-01-31", "2026-01-31T09:30:00+01:00"],
        }
    ),
]
"""A time as a search filter takes it: not `format: date-time` in the schema, which needs an offset."""
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
"""A BCP 47 language tag's shape: a language, then up to three subtags (`pt-BR`)."""


def _language_code(value: str, codes: Sequence[str], rule: str) -> str:
    """The ISO 639-1 code (lower case) of `value`, a BCP 47 tag in any case whose language is one of `codes`
    (a regional tag, `pt-BR`, is its language's code). Raises PydanticCustomError `language` saying `rule`
    and listing `codes` otherwise."""
    code = value.split("-")[0].lower()
    if _LANGUAGE_TAG.fullmatch(value) is None or code not in codes:
        raise PydanticCustomError(
            "language",
            f"must be {rule}: {{codes}} (got {{got}})",
            {"codes": ", ".join(codes), "got": show(value)},
        )
    return code


def _agent_language(value: str) -> str:
    """A chat turn's language: one the agent answers in (`cmp.conversations.language.LANGUAGES`)."""
    return _language_code(value, LANGUAGES, "one of the languages the agent answers in")


AgentLanguage = Annotated[
    str,
    StringConstraints(max_length=35),
    AfterValidator(_agent_language),
    Field(
        description=(
            f"The answer's language, overriding detection: one of {', '.join(LANGUAGES)}, in any case"
            " (a regional tag such as pt-BR answers in pt); the answer's `language` is the code in lower case"
        ),
        examples=["es"],
    ),
]


def _chunk_language(value: str) -> str:
    """A search filter's language: one chunks are labelled with (`cmp.knowledge.chunking.CHUNK_LANGUAGES`;
    any other would match nothing)."""
    return _language_code(value, CHUNK_LANGUAGES, "a language chunks are labelled with")


ChunkLanguage = Annotated[
    str,
    StringConstraints(max_length=35),
    AfterValidator(_chunk_language),
    Field(
        description=f"A language chunks are labelled with: {', '.join(CHUNK_LANGUAGES)}, in any case (a regional"
        " tag such as es-MX is its language)"
    ),
]


class ImageBody(RequestModel):
    media_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"] = Field(
        description=f"One of {', '.join(IMAGE_TYPES)}"
    )
    data: Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)] = Field(
        description="The image's bytes, base64-encoded (at most 3.75 MB decoded)"
    )


class ChatBody(RequestModel):
    """One user turn. Without `session_id` a new conversation starts; `language` (one of the agent's
    languages) overrides the detected language of `message`."""

    message: Text = Field(examples=["Hola! ¿Es compatible este cargador?"])
    session_id: Annotated[UUID | None, Field(strict=False, description="A session this agent started")] = None
    image: ImageBody | None = Field(
        default=None, description="Only when the product accepts images and its model reads them"
    )
    language: AgentLanguage | None = None


class CitationOut(ApiModel):
    """A numbered source: `snippet` is quoted verbatim from the cited chunk."""

    index: int
    source_type: Literal["file", "url", "qa"]
    document_id: str
    title: str | None
    page: int | None
    url: str | None
    chunk_id: str
    snippet: str
    origin: Literal["subscription", "product"] = Field(
        default="subscription",
        description="The subscription's own knowledge base, or the product's seller-provided one",
    )


class UsageOut(ApiModel):
    tokens_in: int
    tokens_out: int


class ChatResponse(ApiModel):
    """The agent's answer. `grounded` false means the configured `fallback` answered (refuse: the buyer's
    fallback message; escalate: the hand-off message; general: the model without knowledge context);
    `mode` extractive: the answer quotes the knowledge base, nothing is generated."""

    session_id: str
    message_id: str
    answer: str
    language: str = Field(examples=["es"])
    grounded: bool
    confidence: float = Field(ge=0, le=1)
    fallback: Literal["refuse", "general", "escalate"] | None
    mode: Literal["extractive", "generative"]
    citations: list[CitationOut]
    usage: UsageOut


class FeedbackBody(RequestModel):
    rating: Literal["up", "down"]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class FeedbackResponse(ApiModel):
    message_id: str
    rating: Literal["up", "down"]
    comment: str | None


class WidgetSettingsResponse(ApiModel):
    """What `chat.js` renders, from the subscription's widget, conversation, branding and persona
    sections (null: not set, the widget's own default applies)."""

    subscription_id: str
    type: str | None
    theme: str | None
    colors: dict[str, Any] | None
    position: str | None
    size: dict[str, Any] | None
    avatar: str | None
    launcher: dict[str, Any] | None
    welcome_message: str | None
    welcome_variants: list[str]
    suggested_prompts: list[str]
    exit_message: str | None
    feedback_request: bool
    branding_name: str
    persona_name: str
    streaming: bool
    image_input: bool


def _one_scalar(value: Any, handler: Any) -> Any:
    """One error for a metadata value that is none of its union's types, instead of one per member."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "metadata_value", "must be a string, a whole number or true/false"
        ) from None


MetadataValue = Annotated[str | int | bool, WrapValidator(_one_scalar)]


class SearchFiltersBody(RequestModel):
    """Every field narrows the search; dates compare with the document's date (published, else added):
    from `published_after` (included) to `published_before` (excluded)."""

    source_types: list[Literal["file", "url", "qa"]] | None = Field(default=None, max_length=3)
    document_ids: list[Annotated[UUID, Field(strict=False)]] | None = Field(default=None, max_length=100)
    languages: list[ChunkLanguage] | None = Field(default=None, max_length=10)
    published_after: When | None = None
    published_before: When | None = None
    metadata: dict[str, MetadataValue] | None = Field(
        default=None, max_length=20, description="Documents whose metadata holds every key with this value"
    )

    @field_validator("published_before")
    @classmethod
    def _after_the_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """Raises PydanticCustomError `empty_range` when the range holds no time (it could match nothing)."""
        start = info.data.get("published_after")
        if value is not None and start is not None and value <= start:
            raise PydanticCustomError(
                "empty_range",
                "must be later than published_after ({start}): the range holds no date",
                {"start": start.isoformat()},
            )
        return value


def _has_words(value: str) -> str:
    """A search query must have a letter or a digit: one of only emoji or punctuation matches no keyword
    and ranks vectors by noise (the marketplace search refuses it the same way, `cmp.web.query`)."""
    if not any(c.isalnum() for c in value):
        raise PydanticCustomError("no_words", "has no letters or digits to search for")
    return value


class SearchBody(RequestModel):
    query: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
        AfterValidator(_has_words),
    ]
    top_k: int = Field(default=5, ge=1, le=PLATFORM_MAXIMA.top_k)
    method: Literal["vector", "keyword", "hybrid"] = "hybrid"
    filters: SearchFiltersBody | None = None

    def search_filters(self) -> SearchFilters:
        """The filters as `KnowledgeSearch` takes them (no restriction when none were given)."""
        from cmp.knowledge.retrieval import SearchFilters

        f = self.filters
        return SearchFilters(
            source_types=tuple(f.source_types or ()), document_ids=tuple(f.document_ids or ()),
            languages=tuple(f.languages or ()), published_after=f.published_after,
            published_before=f.published_before, metadata=dict(f.metadata or {}),
        ) if f else SearchFilters()  # fmt: skip


class SearchHitOut(ApiModel):
    """A ranked chunk with its citation. `score` is the method's (cosine, ts_rank or fused RRF);
    `similarity` the cosine similarity to the query."""

    rank: int
    score: float
    similarity: float | None
    content: str
    language: str | None
    section: str | None
    citation: CitationOut


class SearchResponse(ApiModel):
    query: str
    method: Literal["vector", "keyword", "hybrid"]
    hits: list[SearchHitOut]

    @classmethod
    def of(cls, body: SearchBody, hits: list[SearchHit]) -> SearchResponse:
        """The answer to `body`: each hit with its citation (snippet quoted from the chunk)."""
        from cmp.knowledge.grounding import citation

        return cls.model_validate({
            "query": body.query,
            "method": body.method,
            "hits": [
                SearchHitOut.model_validate({
                    "rank": h.rank, "score": h.score, "similarity": h.similarity, "content": h.content,
                    "language": h.language, "section": h.section,
                    "citation": citation(h.rank, h, body.query).as_dict(),
                })
                for h in hits
            ],
        })  # fmt: skip


class KnowledgeTestBody(RequestModel):
    """A test question is searched like a search query: one of only punctuation or emoji is refused as
    `SearchBody.query` is (a chat message is not: the agent answers it with its fallback)."""

    question: Annotated[Text, AfterValidator(_has_words)]
