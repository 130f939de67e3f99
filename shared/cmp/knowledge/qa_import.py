"""Q&A import: CSV text (columns `question` and `answer`, any order, header case-insensitive, delimiter
sniffed among , ; tab) and JSON lists become `QaRow`s; every bad row is reported with its place
(`csv.line[7].answer`, `pairs[3].question`) and nothing is added when any row is bad."""

from __future__ import annotations

import csv
import io

from cmp.errors import FieldError, ValidationFailed
from cmp.knowledge.parsers import decode_text
from cmp.knowledge.services import QaRow


def rows_from_pairs(pairs: list[tuple[str, str]]) -> list[QaRow]:
    """JSON pairs as rows numbered by their index in the list (errors at `pairs[i]`)."""
    return [QaRow(i, q, a, f"pairs[{i}]") for i, (q, a) in enumerate(pairs)]


def rows_from_csv(text: str | bytes) -> list[QaRow]:
    """The rows of a Q&A CSV (errors at `csv.line[n]`, counting the header as line 1). Raises
    `ValidationFailed` when the header lacks a question or answer column or the file has no row."""
    if isinstance(text, bytes):
        text = decode_text(text)
    text = text.lstrip("\ufeff")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [name for name in ("question", "answer") if name not in header]
    if missing:
        raise ValidationFailed(
            "the CSV needs a header row with question and answer columns",
            errors=[FieldError("csv.line[1]", f"no {name} column") for name in missing],
        )
    q, a = header.index("question"), header.index("answer")
    rows = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        padded = record + [""] * (max(q, a) + 1 - len(record))
        rows.append(QaRow(line, padded[q], padded[a], f"csv.line[{line}]"))
    return rows
