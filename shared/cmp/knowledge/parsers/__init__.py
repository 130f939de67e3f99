"""Document parsers: bytes in, `ParsedDocument` (sections with page numbers, tables as markdown rows,
title/author/date, warnings) out.

The format is decided by the bytes, not by the name or the declared type (`detect_format`): PDF, DOCX and
XLSX by their signatures (`filetype`), the text formats (TXT, MD, HTML, CSV) by decoding as text
(`charset-normalizer`) and, for HTML, by its markup. Each format's library is imported inside its parser,
so a function that never parses a PDF never loads pdfplumber.

Raises `UnreadableDocument` (a readable reason, stored on the document) for a file that is not what it
claims, is encrypted or broken, or holds no text at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

Format = Literal["pdf", "docx", "txt", "md", "html", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("pdf", "docx", "txt", "md", "html", "csv", "xlsx")
TEXT_FORMATS = frozenset({"txt", "md", "html", "csv"})
_BINARY_MIME: dict[str, Format] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_OOXML_CONTAINER = "application/zip"
DECLARED_TYPES: dict[Format, tuple[str, ...]] = {
    "pdf": ("application/pdf", "application/x-pdf"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _OOXML_CONTAINER),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _OOXML_CONTAINER),
    "txt": ("text/plain",),
    "md": ("text/markdown", "text/x-markdown", "text/plain"),
    "html": ("text/html", "application/xhtml+xml"),
    "csv": (
        "text/csv",
        "text/plain",
        "application/csv",
        "text/x-csv",
        "application/x-csv",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
    ),
}
"""The content types a file of each format may be declared with: its own, and those browsers and systems
send for its extension (text/plain for text formats; application/vnd.ms-excel for a CSV where Excel is
installed; application/zip for an OOXML file where Office is not)."""
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream")
"""Content types that say nothing of the format (a browser's type for an extension it does not know):
allowed for every format."""
_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL)


class UnreadableDocument(Exception):
    """The file cannot be ingested; `str(error)` is the reason shown on the document."""


@dataclass(frozen=True)
class Section:
    """A run of text from one page (PDF) or under one heading; `kind` 'table' holds markdown rows."""

    text: str
    page: int | None = None
    heading: str | None = None
    kind: Literal["text", "table"] = "text"


@dataclass
class ParsedDocument:
    """What a parser extracted. `warnings` says what was skipped (e.g. a scanned page without text)."""

    format: Format
    sections: list[Section]
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    pages: int | None = None

    @property
    def text(self) -> str:
        """All sections' text, separated by blank lines (the preview and the content hash use it)."""
        return "\n\n".join(s.text for s in self.sections if s.text.strip())


def format_of_name(filename: str) -> Format | None:
    """The format named by a file's extension (`.markdown` is md, `.htm` html), or None."""
    suffix = PurePosixPath(filename.lower()).suffix.lstrip(".")
    suffix = {"markdown": "md", "htm": "html", "text": "txt"}.get(suffix, suffix)
    return suffix if suffix in FORMATS else None


def declared_type_problem(filename: str, content_type: str) -> str | None:
    """Why `content_type` contradicts the format `filename`'s extension names (`DECLARED_TYPES`, compared
    without regard to case and without its parameters: `text/plain; charset=utf-8` is `text/plain`;
    `GENERIC_TYPES` always fit), or None when it fits or the name gives no format we read."""
    fmt = format_of_name(filename)
    declared = content_type.split(";", 1)[0].strip().lower()
    if fmt is None or declared in DECLARED_TYPES[fmt] or declared in GENERIC_TYPES:
        return None
    suffix = PurePosixPath(filename).suffix
    return (
        f"a {suffix} file is {' or '.join(DECLARED_TYPES[fmt])} (or {GENERIC_TYPES[0]}), not {content_type}"
    )


def detect_format(data: bytes, filename: str) -> Format:
    """The real format of `data`: by signature for PDF/DOCX/XLSX; a text file is HTML when its markup
    says so, else the format its name gives (txt, md, csv; txt when the name gives another).

    Raises `UnreadableDocument` for a binary file of a format we do not read (an image, an archive)."""
    import filetype

    kind = filetype.guess(data[:8192])
    if kind is not None:
        if kind.mime in _BINARY_MIME:
            return _BINARY_MIME[kind.mime]
        raise UnreadableDocument(f"the file is {kind.mime}, which is not a format we can read")
    if data[:2] == b"PK":
        raise UnreadableDocument("the file is a ZIP archive but not a DOCX or XLSX document")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableDocument("the file is binary, not text")
    if _HTML.match(decode_text(data[:4096])[:4096].encode("utf-8", "replace")):
        return "html"
    named = format_of_name(filename)
    return named if named in ("txt", "md", "csv", "html") else "txt"


def decode_text(data: bytes) -> str:
    """Text from bytes in whatever encoding they are: UTF-8 (with or without BOM) and UTF-16 with BOM
    first, else the best guess of `charset-normalizer` (cp1252 and latin-1 files read right)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        guess = str(best) if best is not None else None
        try:
            western: str | None = data.decode("cp1252")
        except UnicodeDecodeError:
            western = None
        # On short Western text the detector may pick a CJK code page (mojibake); cp1252 wins when it reads
        # the bytes as Latin script and the guess does not.
        if western is not None and (guess is None or _latin_share(western) > _latin_share(guess)):
            return western
        if guess is None:
            raise UnreadableDocument("the text's encoding could not be recognised") from None
        return guess


def _latin_share(text: str) -> float:
    """The share of characters that are ASCII or Latin letters and signs (U+00A0 to U+024F, and the
    typographic punctuation of cp1252)."""
    latin = sum(1 for c in text if c.isascii() or "\u00a0" <= c <= "\u024f" or "\u2010" <= c <= "\u20ac")
    return latin / max(len(text), 1)


def parse(data: bytes, fmt: Format) -> ParsedDocument:
    """Parse `data` as `fmt`; raises `UnreadableDocument` with the reason when it cannot, or when the
    document holds no text at all."""
    if fmt == "pdf":
        from cmp.knowledge.parsers.pdf import parse_pdf

        parsed = parse_pdf(data)
    elif fmt in ("docx", "xlsx"):
        from cmp.knowledge.parsers.office import parse_docx, parse_xlsx

        parsed = parse_docx(data) if fmt == "docx" else parse_xlsx(data)
    elif fmt == "html":
        from cmp.knowledge.parsers.html import parse_html

        parsed = parse_html(decode_text(data))
    else:
        from cmp.knowledge.parsers.text import parse_csv, parse_plain

        text = decode_text(data)
        parsed = parse_csv(text) if fmt == "csv" else parse_plain(text, fmt)
    if not parsed.text.strip():
        reason = "; ".join(parsed.warnings) or "the document holds no text"
        raise UnreadableDocument(reason)
    return parsed
