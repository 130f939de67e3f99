"""The chat turn's `language`: one of the languages the agent answers in (`cmp.conversations.language.
LANGUAGES`), in any case, as its lower-case code; anything else is refused at `language`, listing them."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cmp.web.agent_schemas import ChatBody

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("sent", "code"), [("ES", "es"), ("es", "es"), ("pt-BR", "pt"), ("EN-us", "en")])
def test_a_supported_language_is_its_lower_case_code(sent: str, code: str) -> None:
    assert ChatBody.model_validate({"message": "hi", "language": sent}).language == code


@pytest.mark.parametrize("sent", ["xx", "ja", "english", "e", ""])
def test_another_language_is_refused_listing_the_supported_codes(sent: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChatBody.model_validate({"message": "hi", "language": sent})
    [error] = caught.value.errors(include_url=False)
    assert (error["loc"], error["msg"]) == (
        ("language",),
        f"must be one of the languages the agent answers in: en, es, fr, de, pt, it (got {sent!r})",
    )


def test_the_openapi_schema_names_the_supported_codes() -> None:
    schema = ChatBody.model_json_schema()["properties"]["language"]
    assert "one of en, es, fr, de, pt, it, in any case" in json.dumps(schema)
