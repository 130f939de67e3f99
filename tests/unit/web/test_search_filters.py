"""The knowledge search body: a metadata value of the wrong kind is one error at its own key; a query
without a letter or digit is refused at `query`; languages are the codes chunks carry, in lower case; dates
are ISO 8601 with or without a time (UTC by default), and a range must not be empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cmp.web.agent_schemas import KnowledgeTestBody, SearchBody, SearchFiltersBody

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


def test_a_test_question_without_letters_or_digits_is_refused_at_question() -> None:
    """The knowledge test searches its question as the search route does (new-user trial: "?!?" was a
    200 with the fallback there and a 422 on search)."""
    with pytest.raises(ValidationError) as caught:
        KnowledgeTestBody.model_validate({"question": "?!?"})
    [error] = caught.value.errors(include_url=False)
    assert (error["loc"], error["msg"]) == (("question",), "has no letters or digits to search for")
    assert KnowledgeTestBody.model_validate({"question": "¿garantía?"}).question == "¿garantía?"


def _filters(**filters: object) -> SearchFiltersBody:
    body = SearchBody.model_validate({"query": "x", "filters": filters})
    assert body.filters is not None
    return body.filters


def _errors(**filters: object) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        SearchBody.model_validate({"query": "x", "filters": filters})
    return [(e["loc"], e["msg"]) for e in caught.value.errors(include_url=False)]


def test_languages_are_normalised_to_the_lower_case_codes_chunks_carry() -> None:
    """A regional tag is its language, as chat's `language` takes it (new-user trial: chat took pt-BR, the
    filter refused es-MX)."""
    assert _filters(languages=["ES", "en", "es-MX", "EN-us"]).languages == ["es", "en", "es", "en"]


def test_every_language_a_chunk_is_labelled_with_is_a_filter() -> None:
    """New-user trial: `["fr"]` was a 422 though French documents are uploaded (their chunks now say so)."""
    assert _filters(languages=["fr", "DE", "pt", "it"]).languages == ["fr", "de", "pt", "it"]


@pytest.mark.parametrize("language", ["nl-BE", "xx", "nl", "english", "es_MX"])
def test_a_language_no_chunk_is_labelled_with_is_refused_at_its_index(language: str) -> None:
    [(loc, message)] = _errors(languages=["es", language])
    assert (loc, message) == (
        ("filters", "languages", 1),
        f"must be a language chunks are labelled with: en, es, fr, de, pt, it (got {language!r})",
    )


def test_a_bare_date_is_that_days_midnight_utc_and_a_time_without_offset_is_utc() -> None:
    filters = _filters(published_after="2030-01-01", published_before="2030-02-01T12:30:00")
    assert filters.published_after == datetime(2030, 1, 1, tzinfo=UTC)
    assert filters.published_before == datetime(2030, 2, 1, 12, 30, tzinfo=UTC)
    offset = _filters(published_after="2030-01-01T09:00:00+02:00").published_after
    assert offset == datetime(2030, 1, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize("value", ["20300101", "2030-01-01", "2030-01-01T00:00:00Z"])
def test_basic_and_extended_iso_dates_are_the_same_day(value: str) -> None:
    """ISO 8601's basic format is a date too (new-user trial: `20300101` was read as a Unix time, 1970-08-23)."""
    assert _filters(published_before=value).published_before == datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["1000", "1893456000", "yesterday", 1704067200, "2030-13-01"])
def test_a_time_that_is_not_iso_8601_text_is_refused_naming_the_form(value: object) -> None:
    [(loc, message)] = _errors(published_after=value)
    assert loc == ("filters", "published_after")
    assert "give the time as ISO 8601 text, e.g. 2026-01-31" in message


def test_a_range_that_ends_before_it_starts_is_refused_at_published_before() -> None:
    for before in ("2029-12-31", "2030-01-01T00:00:00Z"):
        [(loc, message)] = _errors(published_after="2030-01-01", published_before=before)
        assert loc == ("filters", "published_before")
        assert "later than published_after" in message
    assert _filters(published_before="2029-01-01").published_before == datetime(2029, 1, 1, tzinfo=UTC)
