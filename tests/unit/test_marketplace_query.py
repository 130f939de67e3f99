"""Marketplace search parsing, SQL building and cursors, without a database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from cmp.catalog.search import (
    ProductSearch,
    _checksum,
    build_search_sql,
    decode_cursor,
    encode_cursor,
    search_words,
    sort_keys,
    word_params,
)
from cmp.errors import ValidationFailed
from cmp.web.query import limit_from_query, search_from_query


def parse(**params: str) -> ProductSearch:
    return search_from_query(params)


def paths(**params: str) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        search_from_query(params)
    return [e.path for e in caught.value.errors]


# ---------------------------------------------------------------------------------------------- words
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Support agents", ("support", "agents")),
        ("supp:* & !x | (y) <-> z", ("supp", "x", "y", "z")),
        ("'; drop table t; --", ("drop", "table", "t")),
        ("snake_case and-hyphen", ("snake", "case", "and", "hyphen")),
        ("ＡＩ ｗｒｉｔｅｒ", ("ai", "writer")),
        ("Café naïve 日本語", ("café", "naïve", "日本語")),
        ("echo Echo ECHO", ("echo",)),
        ("!!! ... \\ \x00", ()),
    ],
)
def test_search_text_becomes_letters_and_digits_only(text: str, words: tuple[str, ...]) -> None:
    assert search_words(text) == words


# ---------------------------------------------------------------------------------------------- parameters
def test_defaults_browse_newest_and_search_by_relevance() -> None:
    browse = parse()
    assert (browse.sort, browse.limit, browse.words, browse.after) == ("newest", 20, (), None)
    found = parse(q="Support bots")
    assert (found.sort, found.words) == ("relevance", ("support", "bots"))
    assert parse(q="  ", category="", sort="").sort == "newest"


def test_filters_are_parsed_into_their_types() -> None:
    search = parse(
        category="agent",
        subcategory="single",
        tags="Support, sales,,support",
        min_price="0",
        max_price="49.99",
        runtime="dedicated",
        sort="price_desc",
        limit="50",
    )
    assert search.tags == ("support", "sales")
    assert (search.min_price, search.max_price, search.currency) == (0, 4999, "USD")
    assert (search.category, search.subcategory, search.runtime, search.sort, search.limit) == (
        "agent",
        "single",
        "dedicated",
        "price_desc",
        50,
    )


def test_every_broken_rule_is_reported_under_its_query_parameter() -> None:
    assert set(
        paths(sort="best", limit="100", category="robots", runtime="gpu", min_price="-5", tags="no spaces")
    ) == {"query.sort", "query.limit", "query.category", "query.runtime", "query.min_price", "query.tags"}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"category": "agent", "subcategory": "writer"}, "query.subcategory"),
        ({"subcategory": "unknown"}, "query.subcategory"),
        ({"min_price": "10", "max_price": "5"}, "query.max_price"),
        ({"min_price": "1e3"}, "query.min_price"),
        ({"max_price": "1.999"}, "query.max_price"),
        ({"max_price": "1500.5", "currency": "JPY"}, "query.max_price"),
        ({"currency": "ABC"}, "query.currency"),
        ({"currency": "xau", "min_price": "1"}, "query.currency"),
        ({"currency": "dollars"}, "query.currency"),
        ({"sort": "relevance"}, "query.sort"),
        ({"q": "?!"}, "query.q"),
        ({"q": "a" * 201}, "query.q"),
        ({"q": " ".join(f"w{n}" for n in range(11))}, "query.q"),
        ({"limit": "1.5"}, "query.limit"),
        ({"min_rating": "0"}, "query.min_rating"),
        ({"min_rating": "5.5"}, "query.min_rating"),
        ({"min_rating": "4.555"}, "query.min_rating"),
        ({"min_rating": "NaN"}, "query.min_rating"),
        ({"min_rating": "four"}, "query.min_rating"),
        ({"limit": "٣"}, "query.limit"),
    ],
)
def test_bad_values(params: dict[str, str], path: str) -> None:
    assert paths(**params) == [path]


def test_min_rating_is_read_as_a_decimal_and_changes_the_cursor_fingerprint() -> None:
    assert parse(min_rating=" 4.5 ").min_rating == Decimal("4.5")
    assert parse(min_rating="4").fingerprint != parse().fingerprint


def test_a_subcategory_alone_filters_across_categories() -> None:
    assert parse(subcategory="writer").subcategory == "writer"


def test_limit_of_a_route_without_other_parameters() -> None:
    assert limit_from_query(None, 12) == 12
    assert limit_from_query("7", 12) == 7
    with pytest.raises(ValidationFailed) as caught:
        limit_from_query("0", 12)
    assert caught.value.errors[0].path == "query.limit"


# ---------------------------------------------------------------------------------------------- SQL
def test_user_text_only_ever_travels_as_parameters() -> None:
    hostile = "'; drop table marketplace_listings; -- %(limit)s"
    query, params = build_search_sql(
        parse(
            q=hostile,
            tags="x",
            category="agent",
            subcategory="single",
            min_price="1",
            max_price="2",
            runtime="shared",
        )
    )
    assert "drop" not in query and "marketplace_listings;" not in query
    assert params["word_0"] == "drop:*"
    assert [params[f"word_{n}"] for n in range(5)] == [
        "drop:*",
        "table:*",
        "marketplace:*",
        "listings:*",
        "limit:*",
    ]
    for fragment in (
        "l.search_vector @@",
        "l.category = %(category)s",
        "l.subcategory = %(subcategory)s",
        "l.tags @> %(tags)s::text[]",
        "l.currency = %(currency)s",
        "l.min_price_minor >= %(min_price)s",
        "l.min_price_minor <= %(max_price)s",
        "%(runtime)s = any(l.runtime_types)",
    ):
        assert fragment in query


def test_words_are_anded_each_as_english_or_simple_prefix_through_the_unaccenting_configurations() -> None:
    query, params = build_search_sql(parse(q="invoice pars"))
    assert (
        "(to_tsquery('cmp_english', %(word_0)s) || to_tsquery('cmp_simple', %(word_0)s)) && "
        "(to_tsquery('cmp_english', %(word_1)s) || to_tsquery('cmp_simple', %(word_1)s))"
    ) in query
    assert params == {"limit": 21, "word_0": "invoice:*", "word_1": "pars:*"}


def test_a_one_letter_word_matches_only_itself() -> None:
    assert build_search_sql(parse(q="c compil"))[1] == {"limit": 21, "word_0": "c", "word_1": "compil:*"}


def test_browsing_has_no_where_clause_and_fetches_one_extra_row() -> None:
    query, params = build_search_sql(parse(limit="5"))
    assert " from marketplace_catalog l order by" in query
    assert query.endswith("order by sort_key_0 desc, sort_key_1 limit %(limit)s")
    assert params == {"limit": 6}


def test_keyset_condition_follows_each_key_direction() -> None:
    search = parse(sort="price_desc")
    after = (False, 1900, uuid4())
    query, params = build_search_sql(ProductSearch(sort="price_desc", after=after, limit=search.limit))
    assert (
        "((l.min_price_minor is null > %(after_0)s::boolean)"
        " or (l.min_price_minor is null = %(after_0)s::boolean"
        " and coalesce(l.min_price_minor, 0) < %(after_1)s::bigint)"
        " or (l.min_price_minor is null = %(after_0)s::boolean"
        " and coalesce(l.min_price_minor, 0) = %(after_1)s::bigint"
        " and l.product_id > %(after_2)s::uuid))"
    ) in query
    assert (params["after_0"], params["after_1"], params["after_2"]) == after


@pytest.mark.parametrize(
    ("params", "minor"),
    [
        ({"min_price": "19.99"}, (1999, None)),
        ({"min_price": "1500", "currency": "jpy"}, (1500, None)),
        ({"max_price": "1.5", "currency": "KWD"}, (None, 1500)),
        ({"min_price": "0", "max_price": " 10 ", "currency": " eur "}, (0, 1000)),
    ],
)
def test_prices_are_read_in_minor_units_of_the_query_currency(
    params: dict[str, str], minor: tuple[Any, ...]
) -> None:
    search = parse(**params)
    assert (search.min_price, search.max_price) == minor
    assert search.currency == (params.get("currency") or "USD").strip().upper()


def test_a_yen_price_with_a_fraction_names_the_currency_rule() -> None:
    with pytest.raises(ValidationFailed) as caught:
        search_from_query({"max_price": "1500.5", "currency": "JPY"})
    assert caught.value.errors[0].message == (
        "is not an amount of JPY: JPY has no minor unit (ISO 4217 exponent 0): 1500.5 is not a whole number of JPY"
    )


@pytest.mark.parametrize(
    ("params", "compares"),
    [
        ({"min_price": "0"}, True),
        ({"max_price": "10"}, True),
        ({"sort": "price_asc"}, True),
        ({"sort": "price_desc", "currency": "EUR"}, True),
        ({"currency": "EUR"}, False),
        ({"sort": "rating", "category": "agent"}, False),
    ],
)
def test_only_price_filters_and_price_sorts_are_bound_to_one_currency(
    params: dict[str, str], compares: bool
) -> None:
    query, sql_params = build_search_sql(parse(**params))
    assert ("l.currency = %(currency)s" in query) is compares
    assert sql_params.get("currency") == (parse(**params).currency if compares else None)


def test_a_cursor_belongs_to_its_currency() -> None:
    usd = parse(sort="price_asc")
    cursor = encode_cursor(usd, SAMPLE_VALUES["price_asc"])
    with pytest.raises(ValueError, match="different search"):
        decode_cursor(parse(sort="price_asc", currency="EUR"), cursor)


def test_relevance_orders_by_weighted_rank_then_id() -> None:
    keys = sort_keys(parse(q="x"))
    assert keys[0].descending and keys[0].expression.startswith("ts_rank('{0.1, 0.2, 0.4, 1.0}'::float4[]")
    assert keys[1].expression == "l.product_id" and not keys[1].descending


# ---------------------------------------------------------------------------------------------- cursors
SAMPLE_VALUES: dict[str, tuple[Any, ...]] = {
    "relevance": (0.6079271, uuid4()),
    "newest": (datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC), uuid4()),
    "price_asc": (True, 0, uuid4()),
    "price_desc": (False, 123450, uuid4()),
    "rating": (Decimal("4.75"), 1200, uuid4()),
    "popular": (30, Decimal("0.00"), uuid4()),
    "name": ("ledger lynx: ünïcode", uuid4()),
}


@pytest.mark.parametrize("sort", list(SAMPLE_VALUES))
def test_a_cursor_round_trips_its_values_and_types(sort: str) -> None:
    search = parse(q="ledger", sort=sort, category="agent")
    values = SAMPLE_VALUES[sort]
    decoded = decode_cursor(search, encode_cursor(search, values))
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]
    resumed = search_from_query(
        {
            "q": "ledger",
            "sort": sort,
            "category": "agent",
            "limit": "3",
            "cursor": encode_cursor(search, values),
        }
    )
    assert resumed.after == values


def test_a_cursor_is_opaque_url_safe_text() -> None:
    search = parse(sort="name")
    cursor = encode_cursor(search, ("a/b+c?=&", uuid4()))
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_a_cursor_belongs_to_one_sort_and_one_search() -> None:
    newest = parse(category="agent")
    cursor = encode_cursor(newest, SAMPLE_VALUES["newest"])
    with pytest.raises(ValueError, match="sort 'newest', not 'name'"):
        decode_cursor(parse(category="agent", sort="name"), cursor)
    with pytest.raises(ValueError, match="different search"):
        decode_cursor(parse(category="app"), cursor)
    assert decode_cursor(parse(category="agent", limit="50"), cursor) == SAMPLE_VALUES["newest"]


def _forge(payload: dict[str, Any]) -> str:
    """A cursor with a valid checksum around any payload (as a determined client could build)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _checksum(body)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        "a.b.c",
        "!!!!.0123456789abcdef",
        "e30.0123456789abcdef",
        "x" * 1001,
        "e30.é",
        "é.e30",
        "e30.\x00",
    ],
)
def test_garbage_is_not_a_cursor(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(parse(), cursor)


def test_an_edited_cursor_is_refused() -> None:
    search = parse(sort="rating")
    cursor = encode_cursor(search, SAMPLE_VALUES["rating"])
    encoded, checksum = cursor.split(".")
    body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    body["k"][1] = 1
    edited = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
    with pytest.raises(ValueError, match="altered"):
        decode_cursor(search, f"{edited}.{checksum}")


@pytest.mark.parametrize(
    "keys",
    [
        ["4.5", 3, "not-a-uuid"],
        [4.5, 3, str(uuid4())],
        ["4.50", True, str(uuid4())],
        ["4.50", 3],
        ["NaN", 3, str(uuid4())],
        "not a list",
    ],
)
def test_a_forged_cursor_with_wrong_types_is_refused(keys: Any) -> None:
    search = parse(sort="rating")
    with pytest.raises(ValueError, match="altered"):
        decode_cursor(search, _forge({"v": 1, "s": "rating", "f": search.fingerprint, "k": keys}))


def test_a_forged_cursor_with_the_right_types_is_accepted_as_a_position() -> None:
    search = parse(sort="rating")
    product = str(uuid4())
    cursor = _forge({"v": 1, "s": "rating", "f": search.fingerprint, "k": ["4.50", 3, product]})
    assert decode_cursor(search, cursor) == (Decimal("4.50"), 3, UUID(product))


def test_a_naive_timestamp_or_an_infinite_rank_is_refused() -> None:
    newest = parse()
    with pytest.raises(ValueError):
        decode_cursor(
            newest,
            _forge(
                {"v": 1, "s": "newest", "f": newest.fingerprint, "k": ["2025-01-01T00:00:00", str(uuid4())]}
            ),
        )
    relevance = parse(q="x")
    with pytest.raises(ValueError):
        decode_cursor(
            relevance,
            _forge({"v": 1, "s": "relevance", "f": relevance.fingerprint, "k": [1e999, str(uuid4())]}),
        )


def test_words_shorter_than_three_characters_match_whole_words_only() -> None:
    assert word_params(("ai", "c", "sup", "support")) == {
        "word_0": "ai",
        "word_1": "c",
        "word_2": "sup:*",
        "word_3": "support:*",
    }
