"""Building blocks every format importer shares: limits, document paths, findings and the capability draft.

Importers read untrusted documents, so they never index blindly: they go through `as_dict`, `as_list`
and `text`, and report what they cannot use through `Findings` with the exact path in the document.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from cmp.errors import FieldError, ValidationFailed

MAX_COMPONENTS = 5_000
"""Most nodes, operations or tools one import may hold; larger documents are not products but dumps."""

MAX_WARNINGS = 500
"""Lines in one warnings report (after grouping by kind); the rest are counted in one last line."""

MAX_NAME_LENGTH = 120
"""Matches `products.name varchar(120)`."""

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_MAX_KEY_IN_PATH = 120
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def child_path(parent: str, key: str | int) -> str:
    """Path of `key` under `parent`: `nodes[3].type`, `paths["/pets/{id}"].get`; huge keys are cut short."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.fullmatch(key) and len(key) <= _MAX_KEY_IN_PATH:
        return f"{parent}.{key}" if parent else key
    shown = key if len(key) <= _MAX_KEY_IN_PATH else key[: _MAX_KEY_IN_PATH - 1] + "…"
    return f"{parent}[{json.dumps(shown, ensure_ascii=False)}]"


def as_dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any] | None:
    return value if isinstance(value, list) else None


def text(value: object) -> str | None:
    """The stripped string, or None for anything that is not a non-blank string."""
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def type_name(value: object) -> str:
    """JSON vocabulary for messages: sellers know `array`, not `list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def quoted(value: str, limit: int = 80) -> str:
    """A document value safe to echo in a message: one line, bounded length."""
    cleaned = _CONTROL_CHARACTERS.sub(" ", value)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f"'{cleaned}'"


WARNINGS_SHOWN_PER_KIND = 5
"""Warnings of one kind listed one by one; the rest of that kind are counted in one summary line."""

_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"\d+")


def warning_kind(message: str) -> str:
    """What a warning says once its particulars are left out: quoted values and numbers become `…`/`N`."""
    return _NUMBER.sub("N", _QUOTED.sub("'…'", message))


def common_path(first: str, second: str) -> str:
    """The deepest document path both lie under: `nodes[3].type`, `nodes[12].type` -> `nodes`."""
    if first == second:
        return first
    length = 0
    limit = min(len(first), len(second))
    while length < limit and first[length] == second[length]:
        length += 1

    def at_boundary(path: str) -> bool:
        return length == len(path) or path[length] in ".["

    while length > 0 and not (at_boundary(first) and at_boundary(second)):
        length -= 1
    return first[:length]


class _WarningGroup:
    """The warnings of one kind: the first few in full, the others only counted."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.shown: list[FieldError] = []
        self.count = 0
        self.scope: str | None = None

    def add(self, path: str, message: str) -> None:
        self.count += 1
        self.scope = path if self.scope is None else common_path(self.scope, path)
        if len(self.shown) < WARNINGS_SHOWN_PER_KIND:
            self.shown.append(FieldError(path=path, message=message))

    def report(self) -> list[tuple[FieldError, int]]:
        """The lines to show, each with how many warnings it stands for."""
        lines = [(warning, 1) for warning in self.shown]
        hidden = self.count - len(self.shown)
        if hidden:
            summary = FieldError(
                path=self.scope or "warnings",
                message=f"{hidden} more warnings like this ({self.count} in all): {self.kind}",
            )
            lines.append((summary, hidden))
        return lines


class Findings:
    """Collects warnings (the import goes on) and errors (the import fails) with their document paths.

    Warnings are grouped by kind (`warning_kind`): a kind repeated a thousand times shows its first
    WARNINGS_SHOWN_PER_KIND and one line with the count, so it cannot push rarer warnings out of the report.
    """

    def __init__(self) -> None:
        self._groups: dict[str, _WarningGroup] = {}
        self._errors: list[FieldError] = []

    def warn(self, path: str, message: str) -> None:
        kind = warning_kind(message)
        group = self._groups.get(kind)
        if group is None:
            group = self._groups[kind] = _WarningGroup(kind)
        group.add(path, message)

    def error(self, path: str, message: str) -> None:
        self._errors.append(FieldError(path=path, message=message))

    def fail(self, message: str) -> ValidationFailed:
        """The exception to raise when the document cannot be imported at all."""
        return ValidationFailed(message, errors=self._errors)

    @property
    def has_errors(self) -> bool:
        return bool(self._errors)

    def warnings(self) -> list[FieldError]:
        """Every kind in the order first seen; at most MAX_WARNINGS lines, then one counting the rest."""
        report = [line for group in self._groups.values() for line in group.report()]
        shown = [warning for warning, _ in report[:MAX_WARNINGS]]
        if len(report) <= MAX_WARNINGS:
            return shown
        hidden = sum(weight for _, weight in report[MAX_WARNINGS:])
        return [*shown, FieldError(path="warnings", message=f"{hidden} more warnings not shown")]


def check_component_count(count: int, path: str, noun: str) -> None:
    if count > MAX_COMPONENTS:
        raise ValidationFailed(
            f"Too many {noun} to import",
            errors=[FieldError(path, f"{count} {noun}; at most {MAX_COMPONENTS} can be imported")],
        )


class CapabilityDraft:
    """A partial ProductCapabilities in camelCase, built from dotted paths as facts are found."""

    def __init__(self) -> None:
        self._category: str | None = None
        self._subcategory: dict[str, str] = {}
        self._tree: dict[str, Any] = {}

    def classify(self, category: str, subcategory: str) -> None:
        self._category = category
        self._subcategory = {category: subcategory}

    def set(self, dotted_path: str, value: bool | str | int) -> None:
        *parents, leaf = dotted_path.split(".")
        self._branch(parents)[leaf] = value

    def add(self, dotted_path: str, values: Iterable[str]) -> None:
        """Appends to a list without duplicates, keeping first-seen order; an empty list is not proposed."""
        new_values = list(values)
        if not new_values:
            return
        *parents, leaf = dotted_path.split(".")
        existing: list[str] = self._branch(parents).setdefault(leaf, [])
        for value in new_values:
            if value not in existing:
                existing.append(value)

    def get(self, dotted_path: str) -> object:
        node: object = self._tree
        for part in dotted_path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _branch(self, parents: list[str]) -> dict[str, Any]:
        node = self._tree
        for part in parents:
            node = node.setdefault(part, {})
        return node

    def to_dict(self) -> dict[str, Any]:
        if self._category is None:
            raise RuntimeError("classify() must run before the draft is exported")
        draft: dict[str, Any] = {"category": self._category, "subcategory": dict(self._subcategory)}
        draft.update(copy.deepcopy(self._tree))
        return draft


def file_stem(filename: str | None) -> str | None:
    """`uploads/My Flow.server.json` -> `My Flow`: the seller's own label for the export."""
    if not filename:
        return None
    stem = PurePath(filename.replace("\\", "/")).name
    for suffix in (".json", ".yaml", ".yml"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for suffix in (".server", ".tools", ".openapi", ".workflow", ".flow"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = _CONTROL_CHARACTERS.sub(" ", stem).strip()
    return stem or None


def humanise(label: str) -> str:
    """`legacy-cron_random` -> `Legacy cron random`."""
    words = re.sub(r"[-_]+", " ", label).split()
    joined = " ".join(words)
    return joined[:1].upper() + joined[1:]


def product_name(value: object, path: str, findings: Findings, *, filename: str | None, fallback: str) -> str:
    """The document's own name, else one taken from the file name, else `fallback`; warns when not its own."""
    own = text(value)
    if own is not None:
        if len(own) > MAX_NAME_LENGTH:
            findings.warn(path, f"longer than {MAX_NAME_LENGTH} characters; shortened")
            return own[: MAX_NAME_LENGTH - 1].rstrip() + "…"
        return own
    stem = file_stem(filename)
    chosen = humanise(stem)[:MAX_NAME_LENGTH] if stem else fallback
    reason = "missing" if value is None else f"expected a non-empty string, got {type_name(value)}"
    source = "the file name" if stem else "a default"
    findings.warn(path, f"{reason}; named {quoted(chosen)} after {source}")
    return chosen


def description_text(value: object, path: str, findings: Findings) -> str:
    if value is None or isinstance(value, str):
        return (value or "").strip()
    findings.warn(path, f"expected a string, got {type_name(value)}; ignored")
    return ""


_VENDORS: tuple[tuple[str, str], ...] = (
    ("azure", "azure"),
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("claude", "anthropic"),
    ("gemini", "google-gemini"),
    ("googlegenerativeai", "google-gemini"),
    ("vertex", "google-vertex"),
    ("ollama", "ollama"),
    ("mistral", "mistral"),
    ("groq", "groq"),
    ("cohere", "cohere"),
    ("huggingface", "huggingface"),
    ("bedrock", "aws-bedrock"),
    ("deepseek", "deepseek"),
    ("astradb", "astradb"),
    ("qdrant", "qdrant"),
    ("pinecone", "pinecone"),
    ("chroma", "chroma"),
    ("weaviate", "weaviate"),
    ("milvus", "milvus"),
    ("pgvector", "postgres"),
    ("postgres", "postgres"),
    ("supabase", "supabase"),
    ("mongodb", "mongodb"),
    ("redis", "redis"),
    ("elasticsearch", "elasticsearch"),
    ("opensearch", "opensearch"),
    ("slack", "slack"),
    ("telegram", "telegram"),
    ("discord", "discord"),
    ("microsoftteams", "microsoft-teams"),
    ("whatsapp", "whatsapp"),
    ("gmail", "gmail"),
    ("notion", "notion"),
    ("linear", "linear"),
    ("airtable", "airtable"),
    ("github", "github"),
    ("gitlab", "gitlab"),
    ("jira", "jira"),
    ("hubspot", "hubspot"),
    ("salesforce", "salesforce"),
    ("zendesk", "zendesk"),
    ("googlesheets", "google-sheets"),
    ("googledrive", "google-drive"),
    ("youtube", "youtube"),
    ("arxiv", "arxiv"),
    ("wikipedia", "wikipedia"),
    ("tavily", "tavily"),
    ("serpapi", "serpapi"),
    ("stripe", "stripe"),
    ("shopify", "shopify"),
    ("twilio", "twilio"),
)


def vendor_of(component_type: str) -> str | None:
    """The external service a component talks to, from its type name (`lmChatOpenAi` -> `openai`)."""
    squashed = re.sub(r"[^a-z0-9]", "", component_type.lower())
    for keyword, vendor in _VENDORS:
        if keyword in squashed:
            return vendor
    return None
