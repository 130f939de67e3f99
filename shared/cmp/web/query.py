"""The marketplace's HTTP query strings, parsed into `cmp.catalog.search.ProductSearch` criteria.

Query parameters arrive as plain strings so every bad value is reported under `query.<name>` with the
domain's own messages, all at once. Forms send empty fields (`?category=`): they mean "no filter". The
rules (limits, sorts, patterns) are the catalog's; `QUERY_DOCS` and `QUERY_SCHEMAS` describe them in the
OpenAPI document, no stricter than the parser (a value the schema refuses, the parser refuses too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from cmp.capabilities import CATEGORIES
from cmp.catalog.marketplace import FEATURED_DEFAULT_LIMIT
from cmp.catalog.search import (
    DEFAULT_CURRENCY,
    DEFAULT_LIMIT,
    MAX_CURSOR_CHARS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    MAX_TAGS,
    PRICE_PATTERN,
    RUNTIMES,
    SORTS,
    TAG_PATTERN,
    ProductSearch,
    decode_cursor,
    search_words,
)
from cmp.errors import FieldError, ValidationFailed
from cmp.money import exponent, format_amount, to_minor

SUBCATEGORY_OWNER = {sub: category for category, subs in CATEGORIES.items() for sub in subs}

Report = Callable[[str, str], None]
"""Records one broken rule: (query parameter name, message)."""

QUERY_DOCS = {
    "q": f"Search text: words are AND-ed and prefix-matched over name, descriptions and tags "
    f"(≤ {MAX_QUERY_CHARS} chars, ≤ {MAX_QUERY_WORDS} words)",
    "category": "agent | app | assistant | automation",
    "subcategory": "A subcategory id (see /v1/marketplace/categories); must belong to `category` if both given",
    "tags": f"Comma-separated tags (≤ {MAX_TAGS} distinct; a repeated tag counts once); a product must carry "
    "all of them. Empty (`?tags=`) means no tag filter, like every other empty field",
    "min_price": "Lowest monthly starting price in `currency`, e.g. 0 or 19.99 (no more decimals than the "
    "currency has: 1500 for JPY); only products priced in `currency` match",
    "max_price": "Highest monthly starting price in `currency` (0 = free products only); only products "
    "priced in `currency` match",
    "currency": f"ISO 4217 code of `min_price`, `max_price` and the price sorts (default {DEFAULT_CURRENCY}): "
    "price filters and price sorts show only products priced in this currency; other searches ignore it",
    "min_rating": "Lowest average star rating from subscribers' reviews, 1 to 5 (decimals allowed, e.g. 4.5); "
    "products without reviews do not match",
    "runtime": " | ".join(RUNTIMES),
    "sort": "relevance (default with q) | newest (default) | price_asc | price_desc | rating | popular | name",
    "limit": f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}; {FEATURED_DEFAULT_LIMIT} for featured)",
    "cursor": "next_cursor of the previous page, unchanged, with the same q, filters and sort",
    "products": "2 to 4 comma-separated product slugs or ids",
}


def _choice(values: Any) -> str:
    return r"^\s*(" + "|".join(values) + r")?\s*$"


QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "q": {"maxLength": MAX_QUERY_CHARS},
    "category": {"pattern": _choice(CATEGORIES)},
    "subcategory": {"pattern": _choice(SUBCATEGORY_OWNER)},
    "min_price": {"pattern": r"^\s*([0-9]{1,12}(\.[0-9]{1,4})?)?\s*$"},
    "max_price": {"pattern": r"^\s*([0-9]{1,12}(\.[0-9]{1,4})?)?\s*$"},
    "currency": {"pattern": r"^\s*([A-Za-z]{3})?\s*$"},
    "min_rating": {"pattern": r"^\s*([1-5](\.[0-9]{1,2})?)?\s*$"},
    "runtime": {"pattern": _choice(RUNTIMES)},
    "sort": {"pattern": _choice(SORTS)},
    "limit": {"pattern": r"^\s*([0-9]{1,3})?\s*$"},
    "cursor": {"maxLength": MAX_CURSOR_CHARS},
}
"""JSON Schema constraints of each query parameter (beyond `type: string`) for the OpenAPI document."""


def search_from_query(params: Mapping[str, str | None]) -> ProductSearch:
    """Parse raw query-string values; every broken rule is reported at once, each under `query.<name>`.

    Raises ValidationFailed (422) listing every bad parameter; a cursor that does not belong to this
    search is reported under `query.cursor`.
    """
    errors: list[FieldError] = []

    def fail(name: str, message: str) -> None:
        errors.append(FieldError(f"query.{name}", message))

    words = _parse_words(params.get("q"), fail)
    category = _blank_to_none(params.get("category"))
    if category is not None and category not in CATEGORIES:
        fail("category", f"must be one of {', '.join(CATEGORIES)}")
        category = None
    subcategory = _blank_to_none(params.get("subcategory"))
    if subcategory is not None:
        owner = SUBCATEGORY_OWNER.get(subcategory)
        if owner is None:
            fail("subcategory", "is not a known subcategory; GET /v1/marketplace/categories lists them")
        elif category is not None and owner != category:
            allowed = ", ".join(CATEGORIES[category])
            fail("subcategory", f"must be one of {allowed} for category '{category}'")
    tags = _parse_tags(params.get("tags"), fail)
    currency = _parse_currency(params.get("currency"), fail)
    min_price = _parse_price("min_price", params.get("min_price"), currency, fail)
    max_price = _parse_price("max_price", params.get("max_price"), currency, fail)
    if min_price is not None and max_price is not None and min_price > max_price and currency is not None:
        fail("max_price", f"must be at least min_price ({format_amount(min_price, currency)})")
    min_rating = _parse_rating(params.get("min_rating"), fail)
    runtime = _blank_to_none(params.get("runtime"))
    if runtime is not None and runtime not in RUNTIMES:
        fail("runtime", f"must be one of {', '.join(RUNTIMES)}")
    sort = _blank_to_none(params.get("sort")) or ("relevance" if words else "newest")
    if sort not in SORTS:
        fail("sort", f"must be one of {', '.join(SORTS)}")
    elif sort == "relevance" and not words:
        fail("sort", "relevance needs a search text in q; use another sort to browse")
    limit = parse_limit(params.get("limit"), DEFAULT_LIMIT, fail)
    if errors:
        raise ValidationFailed("the search parameters are invalid", errors=errors)
    search = ProductSearch(
        words,
        category,
        subcategory,
        tags,
        min_price,
        max_price,
        runtime,
        sort,
        limit,
        currency=currency or DEFAULT_CURRENCY,
        min_rating=min_rating,
    )
    cursor = _blank_to_none(params.get("cursor"))
    if cursor is None:
        return search
    try:
        after = decode_cursor(search, cursor)
    except ValueError as e:
        problem = FieldError("query.cursor", str(e))
        raise ValidationFailed("the cursor is invalid", errors=[problem]) from e
    return replace(search, after=after)


def limit_from_query(raw: str | None, default: int) -> int:
    """The `limit` query parameter of a route that takes no other (a 422 under `query.limit` if bad)."""
    errors: list[FieldError] = []
    limit = parse_limit(
        raw, default, lambda name, message: errors.append(FieldError(f"query.{name}", message))
    )
    if errors:
        raise ValidationFailed("the limit is invalid", errors=errors)
    return limit


def parse_limit(raw: str | None, default: int, fail: Report) -> int:
    """A page size of 1..MAX_LIMIT; reports under `query.limit`."""
    value = _blank_to_none(raw)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 3) or not 1 <= int(value) <= MAX_LIMIT:
        fail("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
        return default
    return int(value)


def _blank_to_none(value: str | None) -> str | None:
    """Forms send empty fields (`?category=`); they mean "no filter"."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _parse_words(raw: str | None, fail: Report) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return ()
    if len(raw) > MAX_QUERY_CHARS:
        fail("q", f"must be at most {MAX_QUERY_CHARS} characters (got {len(raw)})")
        return ()
    words = search_words(raw)
    if not words:
        fail("q", "has no letters or digits to search for")
    elif len(words) > MAX_QUERY_WORDS:
        fail("q", f"must have at most {MAX_QUERY_WORDS} words (got {len(words)})")
        return ()
    return words


def _parse_tags(raw: str | None, fail: Report) -> tuple[str, ...]:
    if raw is None:
        return ()
    tags = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    if len(tags) > MAX_TAGS:
        fail("tags", f"at most {MAX_TAGS} distinct tags (got {len(tags)})")
        return ()
    bad = [t for t in tags if not TAG_PATTERN.fullmatch(t)]
    if bad:
        fail("tags", "tags are lower-case letters, digits and hyphens (at most 40 characters)")
        return ()
    return tags


def _parse_currency(raw: str | None, fail: Report) -> str | None:
    """The ISO 4217 code (any case) or the default; None (reported) for an unknown one."""
    value = _blank_to_none(raw)
    if value is None:
        return DEFAULT_CURRENCY
    code = value.upper()
    try:
        exponent(code)
    except ValueError as e:
        fail("currency", str(e))
        return None
    return code


def _parse_rating(raw: str | None, fail: Report) -> Decimal | None:
    """`min_rating` as a Decimal between 1 and 5 with at most two decimals (ratings are stored as numeric(3, 2))."""
    value = _blank_to_none(raw)
    if value is None:
        return None
    try:
        rating = Decimal(value)
    except ArithmeticError:
        rating = None
    if rating is None or not rating.is_finite() or not 1 <= rating <= 5 or rating.as_tuple().exponent < -2:  # type: ignore[operator]
        fail(
            "min_rating",
            f"must be a number from 1 to 5 with at most 2 decimals, e.g. 4 or 4.5 (got {value!r})",
        )
        return None
    return rating


def _parse_price(name: str, raw: str | None, currency: str | None, fail: Report) -> int | None:
    """A price in major units of `currency` as minor units; not checked further when the currency is
    unknown (reported on its own)."""
    value = _blank_to_none(raw)
    if value is None:
        return None
    if not PRICE_PATTERN.fullmatch(value):
        fail(name, "must be a non-negative amount such as 0 or 49.99 (at most 12 digits before the point)")
        return None
    if currency is None:
        return None
    try:
        return to_minor(Decimal(value), currency)
    except ValueError as e:
        fail(name, f"is not an amount of {currency}: {e}")
        return None
