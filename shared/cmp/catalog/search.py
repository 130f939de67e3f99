"""Marketplace search as data: a validated `ProductSearch` (built from the HTTP query by `cmp.web.query`),
turned into one SQL statement.

Pure (no I/O), so every rule is unit-tested. Three choices shape it:

- User text never reaches `to_tsquery` as typed. `q` is split into words of letters and digits only;
  each word becomes a bound parameter `word:*` (prefix match: "supp" finds "Support") looked up through
  both the `cmp_english` configuration (stemmed: "agents" finds "agent") and the `cmp_simple` one
  (unstemmed, keeps stop words: "it" finds "IT Helpdesk", "ready" finds "Readymade" although english
  stems it to "readi"); the words are AND-ed. Nothing a user types can form a tsquery operator or reach
  the SQL. Both configurations (migration 0008) drop accents first, as the listings' `search_vector`
  does: "cafe" finds "Café", "café" finds "Cafe".
- Pagination is keyset, not offset: each sort is a list of key expressions ending in `product_id`, and
  the cursor carries the last row's key values, so pages stay stable when listings are published
  between requests.
- Prices are compared in one currency: `min_price`/`max_price` (minor units) and the price sorts only see
  listings priced in the search's `currency` (default USD); listings in other currencies are left out of
  them rather than ordered by an amount in another unit. Every listing has one currency (its plans share
  it) and its starting price in minor units (`min_price_minor`, migration 0009).
- The cursor is opaque and bound to its search: it names its sort and a fingerprint of the filters,
  and a checksum detects edits. A cursor from another sort or search, or an edited one, is a 422.
  (The checksum is not a secret: forging a cursor only moves a reader within public data, and every
  value in it is type-checked and bound as a parameter.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

SORTS = ("relevance", "newest", "price_asc", "price_desc", "rating", "popular", "name")
RUNTIMES = ("shared", "dedicated")
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 10
MAX_TAGS = 10
MAX_CURSOR_CHARS = 1000
TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
PRICE_PATTERN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,4})?")
"""A price in a query, in major units; the currency's exponent then limits its decimal places."""
DECIMAL_KEY_PATTERN = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
"""A decimal sort key (a rating) as a cursor carries it."""
DEFAULT_CURRENCY = "USD"
PRICE_SORTS = ("price_asc", "price_desc")
WORD_PATTERN = re.compile(r"[^\W_]+")
"""Runs of letters and digits in any script; everything else (operators, quotes, `_`) separates words."""

RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'::float4[]"
"""ts_rank weights for D, C, B, A: a name (A) match outranks any number of description (C) matches."""

CURSOR_VERSION = 1

KeyKind = Literal["float", "timestamp", "decimal", "int", "bool", "text", "uuid"]
SQL_TYPES: dict[str, str] = {
    "float": "float8",
    "timestamp": "timestamptz",
    "decimal": "numeric",
    "int": "bigint",
    "bool": "boolean",
    "text": "text",
    "uuid": "uuid",
}


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term; `kind` says how its value travels in a cursor and which SQL type it binds as."""

    expression: str
    descending: bool
    kind: KeyKind


PRODUCT_ID = SortKey("l.product_id", False, "uuid")
FIXED_SORT_KEYS: dict[str, tuple[SortKey, ...]] = {
    # Each order has a btree index with exactly these expressions and directions (migrations 0002, 0003):
    # change one, change the other.
    "newest": (SortKey("l.published_at", True, "timestamp"), PRODUCT_ID),
    # Listings without a monthly price (contact-us plans only) come last in both price orders. Price sorts
    # see one currency (an equality on l.currency, the indexes' first column; migration 0009).
    "price_asc": (
        SortKey("l.min_price_minor is null", False, "bool"),
        SortKey("coalesce(l.min_price_minor, 0)", False, "int"),
        PRODUCT_ID,
    ),
    "price_desc": (
        SortKey("l.min_price_minor is null", False, "bool"),
        SortKey("coalesce(l.min_price_minor, 0)", True, "int"),
        PRODUCT_ID,
    ),
    "rating": (SortKey("l.rating_avg", True, "decimal"), SortKey("l.rating_count", True, "int"), PRODUCT_ID),
    "popular": (
        SortKey("l.subscriber_count", True, "int"),
        SortKey("l.rating_avg", True, "decimal"),
        PRODUCT_ID,
    ),
    "name": (SortKey("lower(l.name)", False, "text"), PRODUCT_ID),
}

CARD_COLUMNS = (
    "l.product_id, l.slug, l.name, l.short_description, l.category, l.subcategory, l.tags, l.seller_name,"
    " l.logo_key, l.min_price_minor, l.currency, l.runtime_types,"
    " l.rating_avg, l.rating_count, l.featured, l.version"
)
"""What a product card shows; every listing query selects these."""


@dataclass(frozen=True)
class ProductSearch:
    """A validated search. `min_price`/`max_price` are minor units of `currency` (an ISO 4217 code), which
    is also the one currency price sorts order. `after` holds the keyset values decoded from the cursor
    (None on page 1)."""

    words: tuple[str, ...] = ()
    category: str | None = None
    subcategory: str | None = None
    tags: tuple[str, ...] = ()
    min_price: int | None = None
    max_price: int | None = None
    runtime: str | None = None
    sort: str = "newest"
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, ...] | None = None
    currency: str = DEFAULT_CURRENCY
    min_rating: Decimal | None = None

    @property
    def compares_prices(self) -> bool:
        """Whether the search filters or sorts by price (and so sees only listings in `currency`)."""
        return self.min_price is not None or self.max_price is not None or self.sort in PRICE_SORTS

    @property
    def fingerprint(self) -> str:
        """Identifies the result set a cursor walks: everything but the page size and position."""
        basis = json.dumps(
            [
                self.words,
                self.category,
                self.subcategory,
                self.tags,
                str(self.min_price),
                str(self.max_price),
                self.runtime,
                self.sort,
                self.currency,
                str(self.min_rating),
            ]
        )
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


def search_words(text: str) -> tuple[str, ...]:
    """The searchable words of `text`: NFKC-normalised, lower-cased runs of letters and digits, once each."""
    normalised = unicodedata.normalize("NFKC", text).lower()
    return tuple(dict.fromkeys(WORD_PATTERN.findall(normalised)))


# ---------------------------------------------------------------------------------------------- cursor
def encode_cursor(search: ProductSearch, values: tuple[Any, ...]) -> str:
    """The opaque cursor after a row whose sort-key values are `values`."""
    keys = sort_keys(search)
    payload = {
        "v": CURSOR_VERSION,
        "s": search.sort,
        "f": search.fingerprint,
        "k": [_to_json(key.kind, value) for key, value in zip(keys, values, strict=True)],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _checksum(body)


def decode_cursor(search: ProductSearch, cursor: str) -> tuple[Any, ...]:
    """The keyset values in `cursor`; ValueError (with a reader-facing reason) if it does not fit `search`."""
    if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise ValueError("is not a cursor returned by this search; start again without it")
    encoded, checksum = cursor.split(".")
    try:
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        payload = json.loads(body)
    except (binascii.Error, ValueError) as e:
        raise ValueError("is not a cursor returned by this search; start again without it") from e
    if checksum != _checksum(body) or not isinstance(payload, dict):
        raise ValueError("has been altered; use next_cursor exactly as returned")
    if payload.get("v") != CURSOR_VERSION:
        raise ValueError("is from an older version of the API; start again without it")
    if payload.get("s") != search.sort:
        raise ValueError(f"belongs to sort '{payload.get('s')}', not '{search.sort}'; start again without it")
    if payload.get("f") != search.fingerprint:
        raise ValueError("belongs to a different search (q or filters changed); start again without it")
    keys = sort_keys(search)
    raw_values = payload.get("k")
    if not isinstance(raw_values, list) or len(raw_values) != len(keys):
        raise ValueError("has been altered; use next_cursor exactly as returned")
    return tuple(_from_json(key.kind, value) for key, value in zip(keys, raw_values, strict=True))


def _checksum(body: bytes) -> str:
    return hashlib.sha256(b"cmp-marketplace-cursor:" + body).hexdigest()[:16]


def _to_json(kind: KeyKind, value: Any) -> Any:
    if kind == "timestamp":
        return value.isoformat()
    if kind in ("decimal", "uuid"):
        return str(value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _read_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _read_timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


def _read_decimal(value: Any) -> Decimal:
    if not DECIMAL_KEY_PATTERN.fullmatch(_text(value)):
        raise ValueError(value)
    return Decimal(value)


def _read_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(value)
    return value


def _read_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def _read_name(value: Any) -> str:
    if len(_text(value)) > 200 or "\x00" in value:
        raise ValueError(value)
    return str(value)


KEY_READERS: dict[str, Callable[[Any], Any]] = {
    "float": _read_float,
    "timestamp": _read_timestamp,
    "decimal": _read_decimal,
    "int": _read_int,
    "bool": _read_bool,
    "text": _read_name,
    "uuid": lambda value: UUID(_text(value)),
}
"""Rebuild one cursor value of each kind, refusing anything of the wrong type (a cursor is client input)."""


def _from_json(kind: KeyKind, value: Any) -> Any:
    try:
        return KEY_READERS[kind](value)
    except ValueError as e:
        raise ValueError("has been altered; use next_cursor exactly as returned") from e


# ---------------------------------------------------------------------------------------------- SQL
def tsquery_sql(words: tuple[str, ...]) -> str | None:
    """The tsquery for `words` (None when there are none): per word, an english-or-simple prefix match,
    accents ignored. Word `n` is the parameter `word_<n>` (see `word_params`). The configurations must be
    those that build `search_vector` (migration 0008), or a word is not normalised as the listings are."""
    if not words:
        return None
    terms = [
        f"(to_tsquery('cmp_english', %(word_{n})s) || to_tsquery('cmp_simple', %(word_{n})s))"
        for n in range(len(words))
    ]
    return "(" + " && ".join(terms) + ")"


MIN_PREFIX_LENGTH = 3
"""Shorter words match whole words only (`ai` finds "AI", not every word starting with ai): as prefixes they
match most listings, and ranking them all cost 70-80 ms at 10,000 listings (docs/performance.md)."""


def word_params(words: tuple[str, ...]) -> dict[str, str]:
    """Each word as a prefix pattern (letters and digits only, so `:*` is the only operator in it); a word
    shorter than `MIN_PREFIX_LENGTH` as itself."""
    return {
        f"word_{n}": f"{word}:*" if len(word) >= MIN_PREFIX_LENGTH else word for n, word in enumerate(words)
    }


def sort_keys(search: ProductSearch) -> tuple[SortKey, ...]:
    """The ORDER BY keys of a search (ending in the product id, so every row has one place)."""
    if search.sort == "relevance":
        rank = f"ts_rank({RANK_WEIGHTS}, l.search_vector, {tsquery_sql(search.words)})::float8"
        return (SortKey(rank, True, "float"), PRODUCT_ID)
    return FIXED_SORT_KEYS[search.sort]


def _keyset_condition(
    keys: tuple[SortKey, ...],
    after: tuple[Any, ...],
    params: dict[str, Any],
    expressions: tuple[str, ...] | None = None,
) -> str:
    """Rows strictly after `after` in the order of `keys` (directions may differ, so no row comparison);
    `expressions` name the keys when they are already computed (default: each key's own expression)."""
    exprs = expressions or tuple(key.expression for key in keys)
    bound = []
    for index, (key, value) in enumerate(zip(keys, after, strict=True)):
        name = f"after_{index}"
        params[name] = value
        bound.append(f"%({name})s::{SQL_TYPES[key.kind]}")
    alternatives = []
    for index, key in enumerate(keys):
        equal = [f"{exprs[j]} = {bound[j]}" for j in range(index)]
        beyond = f"{exprs[index]} {'<' if key.descending else '>'} {bound[index]}"
        alternatives.append("(" + " and ".join([*equal, beyond]) + ")")
    return "(" + " or ".join(alternatives) + ")"


def build_search_sql(search: ProductSearch) -> tuple[str, dict[str, Any]]:
    """One statement for one page: card columns, the sort keys as `sort_key_<n>`, one row beyond the page
    (so the caller knows whether there is a next one). Only fixed SQL text; every value is a parameter."""
    params: dict[str, Any] = {"limit": search.limit + 1, **word_params(search.words)}
    conditions: list[str] = []
    tsquery = tsquery_sql(search.words)
    if tsquery is not None:
        conditions.append(f"l.search_vector @@ {tsquery}")
    if search.category is not None:
        params["category"] = search.category
        conditions.append("l.category = %(category)s")
    if search.subcategory is not None:
        params["subcategory"] = search.subcategory
        conditions.append("l.subcategory = %(subcategory)s")
    if search.tags:
        params["tags"] = list(search.tags)
        conditions.append("l.tags @> %(tags)s::text[]")
    if search.compares_prices:
        params["currency"] = search.currency
        conditions.append("l.currency = %(currency)s")
    if search.min_price is not None:
        params["min_price"] = search.min_price
        conditions.append("l.min_price_minor >= %(min_price)s")
    if search.max_price is not None:
        params["max_price"] = search.max_price
        conditions.append("l.min_price_minor <= %(max_price)s")
    if search.min_rating is not None:
        params["min_rating"] = search.min_rating
        conditions.append("l.rating_count > 0 and l.rating_avg >= %(min_rating)s")
    if search.runtime is not None:
        params["runtime"] = search.runtime
        conditions.append("%(runtime)s = any(l.runtime_types)")
    keys = sort_keys(search)
    selected = ", ".join(f"{key.expression} as sort_key_{i}" for i, key in enumerate(keys))
    order = ", ".join(f"sort_key_{i}{' desc' if key.descending else ''}" for i, key in enumerate(keys))
    if search.sort == "relevance" and search.after is not None:
        # The rank is computed once per match behind a fence (`offset 0` keeps the planner from pulling the
        # subquery up and recomputing `ts_rank` in the keyset condition): a later page of a broad search
        # then costs what page 1 costs (docs/performance.md).
        where = f" where {' and '.join(conditions)}" if conditions else ""
        named = tuple(f"s.sort_key_{i}" for i in range(len(keys)))
        after = _keyset_condition(keys, search.after, params, named)
        query = (
            f"select * from (select {CARD_COLUMNS}, {selected} from marketplace_catalog l{where} offset 0) s"
            f" where {after} order by {order} limit %(limit)s"
        )
        return query, params
    if search.after is not None:
        conditions.append(_keyset_condition(keys, search.after, params))
    where = f" where {' and '.join(conditions)}" if conditions else ""
    query = (
        f"select {CARD_COLUMNS}, {selected} from marketplace_catalog l{where}"
        f" order by {order} limit %(limit)s"
    )
    return query, params


def row_sort_values(search: ProductSearch, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The sort-key values of a row fetched with `build_search_sql`, for its cursor."""
    return tuple(row[f"sort_key_{i}"] for i in range(len(sort_keys(search))))
