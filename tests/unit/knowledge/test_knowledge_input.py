"""What the knowledge API refuses before anything is stored, and how the 422 names it: a Q&A CSV row with
more fields than the header or an unclosed quote, a CSV header with a column a Q&A file does not take, a
CSV without pairs, an edited pair's empty field, a content type that contradicts the file name's extension
(its parameters, such as a charset, are allowed and not compared), a file name that is a path."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from cmp.errors import ValidationFailed
from cmp.knowledge.model import KnowledgeOwner
from cmp.knowledge.parsers import declared_type_problem
from cmp.knowledge.qa_import import rows_from_csv, rows_from_pairs
from cmp.knowledge.services import KnowledgeService
from cmp.web.api import error_path, problem_message
from cmp.web.knowledge_schemas import NewDocument

pytestmark = pytest.mark.unit
TENANT = "00000000-0000-0000-0000-000000000001"
OWNER = KnowledgeOwner.subscription(uuid.UUID(TENANT))


def _errors(csv_text: str) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        rows_from_csv(csv_text)
    return [(e.path, e.message) for e in caught.value.errors]


def test_a_csv_row_with_more_fields_than_the_header_is_named_not_cut() -> None:
    assert _errors("question,answer\nA?,B,C\n") == [
        ("csv.line[2]", "has 3 fields; a Q&A row has 2 (question, answer)")
    ]
    assert [(r.question, r.answer) for r in rows_from_csv("question,answer\nA?,B,\n")] == [("A?", "B")]


def test_every_bad_csv_row_is_listed_when_one_cannot_be_read() -> None:
    assert _errors("question,answer\nA?,B,C\nD?,\nE?,F\n") == [
        ("csv.line[2]", "has 3 fields; a Q&A row has 2 (question, answer)"),
        ("csv.line[3].answer", "must not be empty"),
    ]


def test_an_unclosed_quote_names_the_line_where_the_field_opens() -> None:
    message = (
        "a quoted field is not closed: its opening quote has no closing quote before the end of the file"
    )
    assert _errors('question,answer\n"A?,B\n') == [("csv.line[2]", message)]
    assert _errors('question,answer\nA?,B\n"C?,D\nE?,F\n') == [("csv.line[3]", message)]


def test_a_csv_line_is_the_files_line_where_its_row_starts() -> None:
    rows = rows_from_csv('question,answer\n"Two\nlines?",Yes\nC?,D\n')
    assert [(r.path, r.question) for r in rows] == [("csv.line[2]", "Two\nlines?"), ("csv.line[4]", "C?")]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("question,answer,notes\nA?,Yes.,x\n", "has a column a Q&A file does not take: notes"),
        (
            "Notes;Question;Answer;Source\nx;A?;Yes.;y\n",
            "has columns a Q&A file does not take: notes, source",
        ),
        ("question,,answer\nA?,x,Yes.\n", "has a column a Q&A file does not take: column 2 (no name)"),
        ("question,answer,question\nA?,Yes.,B?\n", "has the question column twice"),
    ],
)
def test_a_header_column_a_qa_file_does_not_take_is_named_on_line_1(csv_text: str, message: str) -> None:
    assert _errors(csv_text) == [("csv.line[1]", f"{message} (only question and answer)")]


def test_empty_header_cells_after_the_last_column_are_no_column() -> None:
    rows = rows_from_csv("question,answer,,\nA?,Yes.,,\n")
    assert [(r.question, r.answer) for r in rows] == [("A?", "Yes.")]


@pytest.mark.parametrize("csv_text", ["question,answer\n", "question,answer\n\n , \n"])
def test_a_csv_without_pairs_is_refused_at_csv(csv_text: str) -> None:
    assert _errors(csv_text) == [("csv", "no Q&A pair given")]


def test_an_empty_pairs_list_is_refused_at_pairs() -> None:
    with pytest.raises(ValidationFailed) as caught:
        rows_from_pairs([])
    assert [(e.path, e.message) for e in caught.value.errors] == [("pairs", "no Q&A pair given")]


def _service() -> KnowledgeService:
    """A service whose input checks run; anything past them (a unit of work) fails the test."""

    def unreachable(*_: Any) -> Any:
        raise AssertionError("the input should have been refused before any storage")

    return KnowledgeService(unreachable, None, unreachable, unreachable, unreachable, None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        ("x?", "", [("answer", "must not be empty")]),
        (" ", "y", [("question", "must not be empty")]),
        ("", "", [("question", "must not be empty"), ("answer", "must not be empty")]),
    ],
)
def test_an_edited_pair_names_its_empty_field(question: str, answer: str, expected: list[Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _service().edit_qa_pair(TENANT, OWNER, uuid.uuid4(), question, answer)
    assert [(e.path, e.message) for e in caught.value.errors] == expected


def test_a_content_type_that_contradicts_the_extension_is_refused_upfront() -> None:
    with pytest.raises(ValidationFailed) as caught:
        _service().request_upload(TENANT, OWNER, "a.md", "application/pdf", 37)
    assert [(e.path, e.message) for e in caught.value.errors] == [
        (
            "content_type",
            "a .md file is text/markdown or text/x-markdown or text/plain (or application/octet-stream),"
            " not application/pdf",
        )
    ]


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("a.md", "text/plain"),
        ("a.csv", "text/plain"),
        ("a.csv", "application/vnd.ms-excel"),
        ("a.pdf", "application/octet-stream"),
        ("a.docx", "application/zip"),
        ("A.PDF", "Application/PDF"),
        ("a.htm", "text/html"),
        ("notes", "application/pdf"),
        ("a.md", "text/markdown; charset=utf-8"),
        ("a.txt", "text/plain;charset=UTF-8"),
        ("a.md", "text/markdown;"),
        ("a.csv", 'Text/CSV ; Charset="utf-8" ; header=present'),
    ],
)
def test_the_types_browsers_send_for_an_extension_fit_it(filename: str, content_type: str) -> None:
    assert declared_type_problem(filename, content_type) is None


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("a.pdf", "text/plain"),
        ("a.txt", "text/markdown"),
        ("a.xlsx", "text/csv"),
        ("a.html", "image/png"),
        ("a.pdf", "text/plain; x=application/pdf"),
    ],
)
def test_a_type_of_another_format_does_not_fit(filename: str, content_type: str) -> None:
    assert declared_type_problem(filename, content_type) is not None


@pytest.mark.parametrize(
    "content_type",
    ["text/markdown; charset=utf-8", "text/plain;charset=UTF-8", 'text/plain; charset="utf-8"'],
)
def test_a_type_with_parameters_passes_the_input_checks(content_type: str) -> None:
    with pytest.raises(AssertionError, match="refused before any storage"):
        _service().request_upload(TENANT, OWNER, "a.md", content_type, 37)


@pytest.mark.parametrize(
    "content_type", ["text/plain; charset", "text/plain\n", "text plain", "text/plain; a=b c", "tëxt/plain"]
)
def test_a_type_that_is_no_mime_type_is_refused(content_type: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _service().request_upload(TENANT, OWNER, "a.md", content_type, 37)
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("content_type", "a MIME type like application/pdf or text/plain; charset=utf-8")
    ]


@pytest.mark.parametrize("filename", ["../../etc/passwd.md", "docs\\a.md", "a\x01.md"])
def test_a_file_name_that_is_a_path_says_so(filename: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NewDocument.model_validate({"filename": filename, "content_type": "text/markdown", "size_bytes": 1})
    [problem] = caught.value.errors()
    assert error_path(problem["loc"]) == "filename"
    assert problem_message(problem) == (
        "must be a file name, not a path (no / or \\), without control characters"
    )
