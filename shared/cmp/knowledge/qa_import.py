"""Q&A import: CSV text (columns `question` and `answer` and no other, any order, header case-insensitive,
delimiter sniffed among , ; tab) and JSON lists become `QaRow`s; every bad row is reported with its place
(`csv.line[7].answer`, `pairs[3].question`) and nothing is added when any row is bad."""

from __future__ import annotations

import csv
import io

from cmp.errors import FieldError, ValidationFailed
from cmp.knowledge.parsers import decode_text
from cmp.knowledge.services import QaRow, qa_row_errors

COLUMNS = ("question", "answer")
"""The columns of a Q&A CSV, and the only ones it may have."""


def rows_from_pairs(pairs: list[tuple[str, str]]) -> list[QaRow]:
    """JSON pairs as rows numbered by their index in the list (errors at `pairs[i]`). Raises
    `ValidationFailed` at `pairs` when the list is empty."""
    if not pairs:
        raise _no_pair("pairs")
    return [QaRow(i, q, a, f"pairs[{i}]") for i, (q, a) in enumerate(pairs)]


def rows_from_csv(text: str | bytes) -> list[QaRow]:
    """The rows of a Q&A CSV (errors at `csv.line[n]`, the file's line where the row starts, the header
    being line 1). Raises `ValidationFailed` when the header lacks a question or answer column or has
    another one (`_header_errors`), when no row holds text (at `csv`), or when a row cannot be read: it
    holds text in more fields than the header names, or a quoted field is not closed; the 422 then lists
    those rows and every other bad row (`qa_row_errors`)."""
    if isinstance(text, bytes):
        text = decode_text(text)
    text = text.lstrip("\ufeff")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect, strict=True)
    header = [h.strip().lower() for h in next(reader, [])]
    while header and not header[-1]:
        header.pop()
    header_errors = _header_errors(header)
    if header_errors:
        raise ValidationFailed(
            "the CSV needs a header row with question and answer columns, and no other", errors=header_errors
        )
    q, a = header.index("question"), header.index("answer")
    rows: list[QaRow] = []
    errors: list[FieldError] = []
    unreadable = False
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(FieldError(f"csv.line[{line}]", _unreadable(str(e))))
            unreadable = True
            break
        if not any(cell.strip() for cell in record):
            continue
        if any(cell.strip() for cell in record[len(header) :]):
            errors.append(
                FieldError(
                    f"csv.line[{line}]",
                    f"has {len(record)} fields; a Q&A row has {len(header)} ({', '.join(header)})",
                )
            )
            unreadable = True
            continue
        padded = record + [""] * (max(q, a) + 1 - len(record))
        row = QaRow(line, padded[q], padded[a], f"csv.line[{line}]")
        rows.append(row)
        errors += qa_row_errors([row])
    if unreadable:
        raise ValidationFailed("some Q&A rows cannot be read; none was added", errors=errors)
    if not rows:
        raise _no_pair("csv")
    return rows


def _header_errors(header: list[str]) -> list[FieldError]:
    """What is wrong with a header row (lower-cased, empty cells after the last name dropped), at
    `csv.line[1]`: a missing question or answer column, then columns of other names (an unnamed one as
    `column n (no name)`) and a column named twice."""
    errors = [FieldError("csv.line[1]", f"no {name} column") for name in COLUMNS if name not in header]
    other = [name or f"column {i} (no name)" for i, name in enumerate(header, 1) if name not in COLUMNS]
    if other:
        columns = "a column" if len(other) == 1 else "columns"
        errors.append(
            FieldError(
                "csv.line[1]",
                f"has {columns} a Q&A file does not take: {', '.join(other)} (only question and answer)",
            )
        )
    errors += [
        FieldError("csv.line[1]", f"has the {name} column twice (only question and answer)")
        for name in COLUMNS
        if header.count(name) > 1
    ]
    return errors


def _no_pair(path: str) -> ValidationFailed:
    """The refusal of an import without a single pair, at `path` (`pairs` or `csv`)."""
    return ValidationFailed(
        "no Q&A pair given; none was added", errors=[FieldError(path, "no Q&A pair given")]
    )


def _unreadable(reason: str) -> str:
    """The reader's error (`csv.Error`) as the row's message."""
    if reason == "unexpected end of data":
        return (
            "a quoted field is not closed: its opening quote has no closing quote before the end of the file"
        )
    if reason.startswith("field larger than field limit"):
        return f"a field is longer than {csv.field_size_limit()} characters (is a quote not closed?)"
    if reason.endswith("expected after '\"'"):
        return "text follows a quoted field's closing quote; quote the whole field"
    return f"cannot be read as CSV ({reason})"
