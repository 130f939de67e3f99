"""The knowledge search body: a metadata value of the wrong kind is one error at its own key; a query
without a letter or digit is refused at `query`."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cmp.web.agent_schemas import SearchBody

pytestmark = pytest.mark.unit


def test_a_nested_or_list_metadata_value_is_one_error_at_its_key() -> None:
    with pytest.raises(ValidationError) as caught:
        SearchBody.model_validate(
            {"query": "x", "filters": {"metadata": {"a": {"b": 1}, "c": "ok", "d": [1]}}}
        )
    errors = caught.value.errors(include_url=False)
    assert [(e["loc"], e["msg"]) for e in errors] == [
        (("filters", "metadata", "a"), "must be a string, a whole number or true/false"),
        (("filters", "metadata", "d"), "must be a string, a whole number or true/false"),
    ]


def test_scalar_metadata_values_keep_their_type() -> None:
    body = SearchBody.model_validate({"query": "x", "filters": {"metadata": {"a": True, "b": 3, "c": "s"}}})
    assert body.filters is not None and body.filters.metadata == {"a": True, "b": 3, "c": "s"}
    assert type(body.filters.metadata["a"]) is bool and type(body.filters.metadata["b"]) is int


def test_a_query_without_letters_or_digits_is_refused_at_query() -> None:
    for query in ("😀😀", "?!", " -- "):
        with pytest.raises(ValidationError) as caught:
            SearchBody.model_validate({"query": query})
        [error] = caught.value.errors(include_url=False)
        assert (error["loc"], error["msg"]) == (("query",), "has no letters or digits to search for")
    assert SearchBody.model_validate({"query": "¿garantía?"}).query == "¿garantía?"
    assert SearchBody.model_validate({"query": " 65W "}).query == "65W"
