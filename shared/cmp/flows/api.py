"""`import_flow`: one entry point that parses safely, recognises the format and hands over to its importer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cmp.errors import FieldError, ValidationFailed
from cmp.flows import langflow, mcp, n8n, openapi
from cmp.flows.base import file_stem
from cmp.flows.bundles import pick_flow
from cmp.flows.proposal import with_valid_proposal
from cmp.flows.result import ImportResult
from cmp.flows.safety import Syntax, parse_document
from cmp.text import with_article


class _ImportDocument(Protocol):
    def __call__(self, document: object, *, filename: str | None) -> ImportResult: ...


@dataclass(frozen=True)
class _Importer:
    matches: Callable[[object], bool]
    import_document: _ImportDocument


_IMPORTERS: dict[str, _Importer] = {
    module.FORMAT: _Importer(matches=module.matches, import_document=module.import_document)
    for module in (langflow, n8n, openapi, mcp)
}
SUPPORTED_FORMATS: tuple[str, ...] = tuple(_IMPORTERS)

_EXPECTED = (
    "a Langflow flow export (data.nodes, data.edges) or bundle (flows), an n8n workflow (nodes, connections) "
    "or CLI export (an array of workflows), an OpenAPI 3.x or Swagger 2.0 document (openapi or swagger, paths) "
    "or an MCP server.json / tools list / single tool / mcpServers config"
)


def import_flow(
    content: bytes | str,
    source_format: str | None = None,
    filename: str | None = None,
    flow_name: str | None = None,
) -> ImportResult:
    """Imports a studio export; `source_format` None means recognise it from its structure.

    A file holding several flows (an `n8n export:workflow` array, a Langflow `{"flows": [...]}` bundle)
    imports the one whose name is `flow_name`; a file holding one flow imports it whatever `flow_name`.
    The proposal in the result always passes `validate_capabilities` (see `cmp.flows.proposal`).

    Raises ValidationFailed (unreadable, unrecognised or unusable document, or several flows and no
    `flow_name` naming one of them), PayloadTooLarge (over MAX_IMPORT_BYTES). Anything merely not
    understood is reported in `ImportResult.warnings`.
    """
    requested = _requested_format(source_format)
    filename = filename if isinstance(filename, str) else None
    parsed = parse_document(content, prefer=_syntax_hint(filename))
    picked = pick_flow(parsed, flow_name if isinstance(flow_name, str) else None)
    if picked is None:
        result = _import_document(parsed, requested, filename)
    else:
        result = picked.prefixed(lambda document: _import_document(document, requested, filename))
    return with_valid_proposal(result)


def _import_document(document: object, requested: str | None, filename: str | None) -> ImportResult:
    chosen = requested or detect_format(document, filename)
    if chosen is None:
        raise ValidationFailed(
            "The file's format was not recognised",
            errors=[FieldError("format", f"could not recognise the document; expected {_EXPECTED}")],
        )
    if requested is not None and not _IMPORTERS[requested].matches(document):
        detected = detect_format(document, filename)
        if detected is not None:
            raise ValidationFailed(
                f"The file is not {with_article(requested)} export",
                errors=[
                    FieldError("format", f"{requested!r} was chosen but the document looks like {detected!r}")
                ],
            )
    return _IMPORTERS[chosen].import_document(document, filename=filename)


def _requested_format(source_format: object) -> str | None:
    """The chosen format, lower-cased; None or blank asks for detection."""
    if source_format is None or (isinstance(source_format, str) and not source_format.strip()):
        return None
    normalised = source_format.strip().lower() if isinstance(source_format, str) else ""
    if normalised not in _IMPORTERS:
        raise ValidationFailed(
            "Unknown import format",
            errors=[
                FieldError(
                    "format", f"{str(source_format)[:40]!r} is not one of {', '.join(SUPPORTED_FORMATS)}"
                )
            ],
        )
    return normalised


def _syntax_hint(filename: str | None) -> Syntax | None:
    lowered = (filename or "").lower()
    return "yaml" if lowered.endswith((".yaml", ".yml")) else None


def detect_format(document: Any, filename: str | None = None) -> str | None:
    """The format whose structure the document has; the file name only breaks ties."""
    candidates = [name for name, module in _IMPORTERS.items() if module.matches(document)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    label = f"{file_stem(filename) or ''} {filename or ''}".lower()
    for name in candidates:
        if name in label or (name == mcp.FORMAT and (".server." in label or ".tools." in label)):
            return name
    return candidates[0]
