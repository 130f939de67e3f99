"""DOCX (python-docx) and XLSX (openpyxl). A DOCX is read in body order, paragraphs and tables
interleaved as in the document, sections starting at each Heading style; its core properties give
title, author and date. An XLSX gives one table section per sheet (values, not formulas)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from cmp.knowledge.parsers import ParsedDocument, Section, UnreadableDocument
from cmp.knowledge.parsers.text import table_rows

MAX_XLSX_ROWS = 100_000
"""Rows read per sheet; a larger sheet is cut there, with a warning."""


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def parse_docx(data: bytes) -> ParsedDocument:
    """Paragraphs and tables in document order; raises `UnreadableDocument` for a broken file."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise UnreadableDocument(f"the DOCX cannot be opened ({type(e).__name__})") from None
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(body, heading=heading))
        lines.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if text and style.lower().startswith(("heading", "title")):
                flush()
                heading = text
            if text:
                lines.append(("- " if "list" in style.lower() else "") + text)
        elif isinstance(block, Table):
            flush()
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            table = "\n".join(table_rows([r for r in rows if any(c.strip() for c in r)]))
            if table:
                sections.append(Section(table, heading=heading, kind="table"))
    flush()
    core = document.core_properties
    return ParsedDocument(
        "docx",
        sections,
        title=(core.title or "").strip() or (sections[0].heading if sections else None),
        author=(core.author or "").strip() or None,
        published_at=_aware(core.created),
    )


def parse_xlsx(data: bytes) -> ParsedDocument:
    """Each sheet as a markdown table (its first non-empty row as the header)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise UnreadableDocument(f"the XLSX cannot be opened ({type(e).__name__})") from None
    sections: list[Section] = []
    warnings: list[str] = []
    for sheet in book.worksheets:
        rows: list[list[str]] = []
        for count, row in enumerate(sheet.iter_rows(values_only=True)):
            if count >= MAX_XLSX_ROWS:
                warnings.append(f"sheet {sheet.title!r} was cut at {MAX_XLSX_ROWS} rows")
                break
            cells = ["" if v is None else str(v) for v in row]
            if any(c.strip() for c in cells):
                rows.append(cells)
        if rows:
            sections.append(Section("\n".join(table_rows(rows)), heading=sheet.title, kind="table"))
    props = book.properties
    book.close()
    return ParsedDocument(
        "xlsx",
        sections,
        title=(props.title or "").strip() or None,
        author=(props.creator or "").strip() or None,
        published_at=_aware(props.created),
        warnings=warnings,
    )
