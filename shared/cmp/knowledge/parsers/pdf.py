"""PDF with pdfplumber: the text of each page with its page number, tables kept as tables (markdown rows,
the words inside a table are not repeated in the page's text), a table continued on the next page keeps
its header, and a page without text (a scanned image) reported in `warnings` rather than silently empty.
Title, author and creation date come from the document information dictionary."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cmp.knowledge.parsers import ParsedDocument, Section, UnreadableDocument
from cmp.knowledge.parsers.text import table_rows

_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?")


def pdf_date(value: Any) -> datetime | None:
    """A PDF date string (`D:20160406123000-07'00'`) as an aware datetime (UTC when it has no offset)."""
    match = _PDF_DATE.match(str(value or ""))
    if not match:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    zone = UTC
    if sign in ("+", "-") and off_h:
        delta = timedelta(hours=int(off_h), minutes=int(off_m or 0))
        zone = timezone(delta if sign == "+" else -delta)
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None


def _clean(rows: list[list[Any]]) -> list[list[str]]:
    cleaned = [[str(cell or "").strip() for cell in row] for row in rows]
    return [row for row in cleaned if any(row)]


def parse_pdf(data: bytes) -> ParsedDocument:
    """Every page's text and tables; raises `UnreadableDocument` for an encrypted or broken file."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, PDFPasswordIncorrect) as e:
        raise UnreadableDocument(f"the PDF cannot be opened ({type(e).__name__})") from None
    except Exception as e:  # pdfminer raises assorted errors for damaged files
        raise UnreadableDocument(f"the PDF is damaged ({type(e).__name__}: {str(e)[:200]})") from None
    with pdf:
        info = pdf.metadata or {}
        sections: list[Section] = []
        warnings: list[str] = []
        blank: list[int] = []
        last_header: list[str] | None = None
        for number, page in enumerate(pdf.pages, start=1):
            tables = page.find_tables()
            outside = page
            for table in tables:
                outside = outside.outside_bbox(table.bbox, strict=False)
            text = (outside.extract_text() or "").strip()
            if text:
                sections.append(Section(text, page=number))
            for position, table in enumerate(tables):
                rows = _clean(table.extract())
                if not rows:
                    continue
                continued = (
                    position == 0
                    and last_header is not None
                    and len(rows[0]) == len(last_header)
                    and rows[0] != last_header
                    and table.bbox[1] < page.height * 0.25
                )
                if continued:
                    assert last_header is not None
                    rows = [last_header, *rows]
                last_header = rows[0]
                sections.append(Section("\n".join(table_rows(rows)), page=number, kind="table"))
            if not text and not tables:
                blank.append(number)
        if blank:
            pages = ", ".join(str(n) for n in blank[:20]) + (" …" if len(blank) > 20 else "")
            warnings.append(
                f"{len(blank)} of {len(pdf.pages)} pages have no extractable text (scanned images?): {pages}"
            )
        return ParsedDocument(
            "pdf",
            sections,
            title=str(info.get("Title") or "").strip() or None,
            author=str(info.get("Author") or "").strip() or None,
            published_at=pdf_date(info.get("CreationDate")),
            warnings=warnings,
            pages=len(pdf.pages),
        )
