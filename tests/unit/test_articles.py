"""Messages that name a value from a variable put the right indefinite article before it (`with_article`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cmp.errors import Conflict
from cmp.knowledge.model import Document
from cmp.text import with_article


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("agent", "an agent"),
        ("app", "an app"),
        ("assistant", "an assistant"),
        ("automation", "an automation"),
        ("swarm", "a swarm"),
        ("image", "an image"),
        ("writer", "a writer"),
        ("indexed", "an indexed"),
        ("pending", "a pending"),
        ("ai", "an ai"),
        ("API", "an API"),
        ("USD", "a USD"),
        ("n8n", "an n8n"),
        ("mcp", "an mcp"),
        ("langflow", "a langflow"),
        ("openapi", "an openapi"),
        ("user", "a user"),
        ("hour", "an hour"),
    ],
)
def test_the_article_goes_by_how_the_word_is_said(word: str, expected: str) -> None:
    assert with_article(word) == expected


def test_a_document_move_the_state_machine_refuses_names_its_status_with_its_article() -> None:
    document = Document(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "file", datetime(2026, 1, 1, tzinfo=UTC), status="indexed"
    )
    with pytest.raises(Conflict, match=r"^an indexed document cannot become embedding$"):
        document.move("embedding")
