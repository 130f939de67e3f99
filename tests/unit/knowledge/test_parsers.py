"""Parsers on the real files of the shared knowledge fixtures (SOURCES.md) and on small made-up files:
pages and tables of PDFs, a table continued on the next page keeps its header, DOCX order and metadata,
encodings, the real format by signature."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from cmp.knowledge.parsers import UnreadableDocument, decode_text, detect_format, parse

pytestmark = pytest.mark.unit


@pytest.fixture
def fixture(shared_dir: Path) -> Callable[[str], bytes]:
    """The bytes of a file of the shared knowledge fixtures (`shared_dir` fails loudly when it is missing)."""
    return lambda name: (shared_dir / "fixtures" / "knowledge" / name).read_bytes()


def test_a_pdf_gives_text_per_page_and_tables_as_markdown_rows(fixture: Callable[[str], bytes]) -> None:
    parsed = parse(fixture("pr-138-example.pdf"), "pdf")
    assert parsed.pages == 2 and parsed.title == "Home Loan Interest Rates"
    assert {s.page for s in parsed.sections} == {1, 2}
    tables = [s for s in parsed.sections if s.kind == "table"]
    assert tables and tables[0].text.startswith("| ") and "\n|---|" in tables[0].text
    prose = " ".join(s.text for s in parsed.sections if s.kind == "text")
    first_row = tables[0].text.split("\n")[2]
    assert first_row not in prose  # the table's words are not repeated as word soup


def test_a_table_split_across_pages_keeps_its_header(fixture: Callable[[str], bytes]) -> None:
    parsed = parse(fixture("WARN-Report-for-7-1-2015-to-03-25-2016.pdf"), "pdf")
    tables = [s for s in parsed.sections if s.kind == "table"]
    headers = {t.text.split("\n")[0] for t in tables}
    page_one_header = next(t for t in tables if t.page == 1).text.split("\n")[0]
    assert all(t.text.split("\n")[0] == page_one_header for t in tables if t.page in (2, 3))
    assert len(headers) >= 1


def test_a_docx_keeps_its_order_tables_and_core_properties(fixture: Callable[[str], bytes]) -> None:
    parsed = parse(fixture("markitdown-test.docx"), "docx")
    assert parsed.title and parsed.title.startswith("AutoGen")
    assert parsed.author == "Adam Fourney" and parsed.published_at is not None
    assert any(s.kind == "table" and s.text.startswith("| ") for s in parsed.sections)


def test_a_csv_becomes_one_table(fixture: Callable[[str], bytes]) -> None:
    parsed = parse(fixture("stanley-cups.csv"), "csv")
    assert parsed.sections[0].kind == "table"
    assert "| Maple Leafs | TOR | 13 |" in parsed.text


def test_markdown_is_sectioned_by_headings_with_the_title(fixture: Callable[[str], bytes]) -> None:
    parsed = parse(fixture("express_es_faq.md"), "md")
    assert parsed.title == "FAQ" and len(parsed.sections) > 3
    assert any(s.heading and "estructurar" in s.heading for s in parsed.sections)


def test_encodings_read_right() -> None:
    text = "Política de devolución: 30 días — reembolso"
    assert decode_text(b"\xef\xbb\xbf" + text.encode()) == text
    assert decode_text(("Política de devolución: 30 días, reembolso " * 5).encode("cp1252")).startswith(
        "Política de devolución"
    )
    assert decode_text(text.encode("utf-16")) == text


def test_html_main_text_without_navigation_and_with_tables() -> None:
    page = (
        b"<html><head><title>Returns</title><meta name='author' content='Support'></head><body>"
        b"<nav>Home | Shop</nav><main><h1>Returns</h1><p>Within 30 days.</p>"
        b"<table><tr><th>Item</th><th>Days</th></tr><tr><td>Shoes</td><td>60</td></tr></table></main>"
        b"<footer>(c) Shop</footer><script>var x = 1;</script></body></html>"
    )
    assert detect_format(page, "returns.txt") == "html"
    parsed = parse(page, "html")
    assert parsed.title == "Returns" and parsed.author == "Support"
    assert "Within 30 days." in parsed.text and "| Shoes | 60 |" in parsed.text
    assert "Home | Shop" not in parsed.text and "var x" not in parsed.text and "(c) Shop" not in parsed.text


def test_the_real_format_comes_from_the_signature(fixture: Callable[[str], bytes]) -> None:
    assert detect_format(fixture("markitdown-test.docx"), "manual.pdf") == "docx"
    assert detect_format(b"%PDF-1.4 ...", "notes.txt") == "pdf"
    with pytest.raises(UnreadableDocument, match="image/png"):
        detect_format(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "a.pdf")
    assert detect_format(b"a,b\n1,2\n", "data.csv") == "csv"


def test_a_pdf_without_text_is_reported_not_silently_empty() -> None:
    import pypdfium2  # pdfplumber's own dependency: writes a page with no text (as a scan without OCR)

    pdf = pypdfium2.PdfDocument.new()
    pdf.new_page(200, 200)
    buffer = io.BytesIO()
    pdf.save(buffer)
    with pytest.raises(
        UnreadableDocument, match=r"1 of 1 pages have no extractable text \(scanned images\?\): 1"
    ):
        parse(buffer.getvalue(), "pdf")


def test_a_broken_file_is_unreadable_with_a_reason() -> None:
    with pytest.raises(UnreadableDocument, match="PDF"):
        parse(b"%PDF-1.4 garbage", "pdf")
    with pytest.raises(UnreadableDocument, match="DOCX"):
        parse(b"PK\x03\x04 not a docx", "docx")
