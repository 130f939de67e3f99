"""What a buyer may write in each configuration section, as pydantic models (the shapes and formats only).

Every field is optional and `null` means "not set". Whether the product lets the buyer set a field, and
within which limits, is checked afterwards against the capability snapshot (`cmp.capabilities.
configuration`). Formats are checked here with their own messages: colours `#rrggbb` (stored in lower
case), languages as well-formed BCP 47 tags with an ISO 639 language (RFC 5646 section 2.1, stored in the
RFC's conventional case),
links as `https://` URLs, secret and variable names as identifiers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from cmp.capabilities.base import WireModel
from cmp.capabilities.enums import AlertType, GroundingFallback, RetrievalMethod, WidgetType
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.parsing import show

Tone = Literal["formal", "casual", "friendly", "professional"]
"""The spec's persona tones (Part 1: "Formal/casual/friendly/professional")."""
OutputFormat = Literal[
    "markdown", "html", "text", "json", "docx", "pdf", "png", "jpeg", "webp", "mp3", "wav", "ogg", "mp4",
    "webm", "csv", "xlsx",
]  # fmt: skip
Quality = Literal["fast", "balanced", "best"]
Length = Literal["short", "medium", "long"]
Theme = Literal["light", "dark", "auto"]
WidgetPosition = Literal["bottom-right", "bottom-left", "top-right", "top-left"]
AlertChannel = Literal["email", "slack", "webhook", "pagerduty"]


def _format_error(message: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(
        "cmp_format", "{message} (got {got})", {"message": message, "got": show(value)}
    )


def _color(value: str) -> str:
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value) is None:
        raise _format_error("must be a colour in the form #rrggbb, such as #7c3aed", value)
    return value.lower()


_LANGUAGE = r"[a-z]{2,3}(?:-[a-z]{3}){0,3}"
"""An ISO 639 language with optional extended subtags; RFC 5646's 4-8 letter primary subtags are reserved or
unassigned, and refusing them catches `english`."""
_BCP47 = re.compile(
    rf"^(?P<language>{_LANGUAGE})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<rest>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
    r"(?:-[0-9a-wy-z](?:-[a-z0-9]{2,8})+)*"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?)$",
    re.IGNORECASE,
)


def _language(value: str) -> str:
    """A well-formed BCP 47 tag in conventional case (`en-us` → `en-US`, `zh-hant-tw` → `zh-Hant-TW`), or
    `auto` (answer in the language the user writes in)."""
    if value == "auto":
        return value
    match = _BCP47.match(value) if len(value) <= 35 else None
    if match is None:
        raise _format_error(
            "must be a BCP 47 language tag such as 'en', 'en-US' or 'pt-BR', or 'auto'", value
        )
    tag = match["language"].lower()
    if match["script"]:
        tag += "-" + match["script"].title()
    if match["region"]:
        tag += "-" + match["region"].upper()
    return tag + match["rest"].lower()


def _https_url(value: str) -> str:
    try:
        parts = urlsplit(value) if re.fullmatch(r"\S{1,2048}", value) else None
        host = parts.hostname if parts is not None else None
    except ValueError:  # a malformed IPv6 host
        parts = host = None
    if parts is None or parts.scheme != "https" or not host or parts.username or parts.password:
        raise _format_error("must be an https:// link without credentials", value)
    return value


def _font(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 \-]{0,63}", value) is None:
        raise _format_error("must be a font family name (letters, digits, spaces, hyphens)", value)
    return value


def _secret_name(value: str) -> str:
    if re.fullmatch(r"[A-Z][A-Z0-9_]{0,127}", value) is None:
        # Never echo the value: a buyer who pastes a secret here must not see it in an error or a log.
        raise PydanticCustomError(
            "cmp_format",
            "must be a secret's name in capitals, digits and underscores such as DATABASE_URL; "
            "secret values are never sent here",
        )
    return value


Color = Annotated[str, AfterValidator(_color)]
Language = Annotated[str, AfterValidator(_language)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
FontName = Annotated[str, AfterValidator(_font)]
SecretName = Annotated[str, AfterValidator(_secret_name)]
Text30 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
Text50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text60 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Text80 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text150 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Text4000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]

MAX_VARIABLES = 100
MAX_VARIABLE_SIZE = 4096
"""Characters of a variable's value written as JSON."""
MAX_ALERTS = 10
MAX_TEMPLATES = 20


# ── persona, conversation, branding, output ──────────────────────────────


class PersonaSettings(WireModel):
    """`configuration.persona`: who the product is to the buyer's users."""

    name: Text80 | None = None
    avatar: HttpsUrl | None = None
    tone: Annotated[list[Tone], Field(min_length=1, max_length=2)] | None = None
    """One or two tones, e.g. `["professional", "friendly"]`; formal and casual exclude each other."""
    language: Language | None = None
    """The response language (BCP 47), or `auto` to answer in the user's language."""
    instructions: Text4000 | None = None
    """Added to the system prompt."""
    boundaries: Annotated[list[Text300], Field(max_length=20)] | None = None
    """What the product must not do, one rule per entry."""


class ConversationSettings(WireModel):
    """`configuration.conversation`: the messages around a conversation."""

    welcome_message: Message | None = None
    welcome_variants: Annotated[list[Message], Field(max_length=10)] | None = None
    suggested_prompts: Annotated[list[Text150], Field(max_length=8)] | None = None
    fallback_message: Message | None = None
    handoff_message: Message | None = None
    exit_message: Message | None = None
    feedback_request: bool | None = None
    """Ask the user for a rating when a conversation ends."""


class BrandColors(WireModel):
    primary: Color | None = None
    secondary: Color | None = None
    accent: Color | None = None
    background: Color | None = None
    text: Color | None = None


class BrandFonts(WireModel):
    heading: FontName | None = None
    body: FontName | None = None


class BrandingSettings(WireModel):
    """`configuration.branding`. `companyName` and `tagline` need only the section; the rest its option."""

    company_name: Text100 | None = None
    tagline: Text200 | None = None
    logo: HttpsUrl | None = None
    colors: BrandColors | None = None
    fonts: BrandFonts | None = None
    custom_css: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        default=None, alias="customCSS"
    )


class OutputStyle(WireModel):
    preset: Text50 | None = None
    length: Length | None = None


class OutputTemplate(WireModel):
    name: Text60
    prompt: Text4000


class OutputSettings(WireModel):
    """`configuration.output`: what an assistant produces by default."""

    format: OutputFormat | None = None
    quality: Quality | None = None
    """The quality/speed trade-off."""
    style: OutputStyle | None = None
    templates: Annotated[list[OutputTemplate], Field(max_length=MAX_TEMPLATES)] | None = None


# ── workflow ─────────────────────────────────────────────────────────────


class Schedule(WireModel):
    """Exactly one of `cron` (five fields) and `interval` (`15m`, `1h`, `1d`); `timezone` is an IANA name."""

    cron: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    interval: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class AlertRule(WireModel):
    """Tell `to` through `channel` when `on` happens: an e-mail address, a Slack `#channel`, an https
    webhook, or for PagerDuty the name of a workflow secret holding the routing key."""

    on: AlertType
    channel: AlertChannel
    to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


class WorkflowSettings(WireModel):
    """`configuration.workflow`: when it runs, its variables, the names of its secrets, its alerts.

    Secret values never pass through configuration; they are stored by name elsewhere.
    """

    schedule: Schedule | None = None
    variables: dict[str, Any] | None = None
    secrets: Annotated[list[SecretName], Field(max_length=PLATFORM_MAXIMA.secrets)] | None = None
    alerts: Annotated[list[AlertRule], Field(max_length=MAX_ALERTS)] | None = None


# ── rag and widget ───────────────────────────────────────────────────────


class RagSettings(WireModel):
    """`configuration.rag`: how the buyer's knowledge is searched and used."""

    top_k: Annotated[int, Field(ge=1, le=PLATFORM_MAXIMA.top_k)] | None = None
    method: RetrievalMethod | None = None
    reranking: bool | None = None
    citations: bool | None = None
    strict_mode: bool | None = None
    fallback: GroundingFallback | None = None


class WidgetColors(WireModel):
    primary: Color | None = None
    background: Color | None = None
    text: Color | None = None
    accent: Color | None = None


class WidgetSize(WireModel):
    """Pixels."""

    width: Annotated[int, Field(ge=200, le=2000)] | None = None
    height: Annotated[int, Field(ge=200, le=2000)] | None = None


class Launcher(WireModel):
    text: Text30 | None = None
    icon: HttpsUrl | None = None


class WidgetSettings(WireModel):
    """`interfaces.widget`: how the embedded widget looks."""

    type: WidgetType | None = None
    theme: Theme | None = None
    colors: WidgetColors | None = None
    position: WidgetPosition | None = None
    size: WidgetSize | None = None
    avatar: HttpsUrl | None = None
    launcher: Launcher | None = None


SETTINGS_MODELS: dict[str, type[WireModel]] = {
    "rag": RagSettings,
    "persona": PersonaSettings,
    "conversation": ConversationSettings,
    "branding": BrandingSettings,
    "output": OutputSettings,
    "workflow": WorkflowSettings,
    "widget": WidgetSettings,
}
"""Section name → its model, in dashboard order."""
