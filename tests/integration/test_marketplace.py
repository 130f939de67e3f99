"""The public marketplace on real PostgreSQL: listings are written as their owning tenant (RLS), read
with no tenant; routes are called through the Lambda handler with API Gateway events."""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from cmp.capabilities import CATEGORIES, new_plan_id, plan_defaults, validate_capabilities
from cmp.catalog.marketplace import MarketplaceService
from cmp.catalog.search import build_search_sql
from cmp.db import Database
from cmp.errors import NotFound, ValidationFailed
from cmp.money import to_minor
from cmp.web.query import search_from_query
from cmp_dev.local.stack import Postgres

REPO = Path(__file__).resolve().parents[2]
ASSETS = "https://assets.example.test/"
_clock = itertools.count()
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- data
def new_tag() -> str:
    """A tag no other test uses, so a `tags=` filter isolates one test's listings in the shared database."""
    return "t" + uuid.uuid4().hex[:12]


def plan(
    name: str,
    tier: str,
    monthly: str | None,
    yearly: str | None = None,
    *,
    runtime: str | None = None,
    features: tuple[str, ...] = (),
    currency: str = "USD",
) -> dict[str, Any]:
    """A plan as publishing stores it: camelCase, tier defaults applied, prices as strings, a stable id."""
    defaults = plan_defaults(tier)
    return {
        "id": new_plan_id(uuid.uuid4()),
        "name": name,
        "tier": tier,
        "priceMonthly": monthly,
        "priceYearly": yearly,
        "currency": currency,
        "limits": defaults["limits"],
        "runtimeType": runtime or defaults["runtimeType"],
        "features": list(features),
    }


_capabilities: dict[tuple[str, str], dict[str, Any]] = {}


def capabilities(category: str, subcategory: str) -> dict[str, Any]:
    if (category, subcategory) not in _capabilities:
        checked = validate_capabilities({"category": category, "subcategory": {category: subcategory}})
        assert checked.capabilities is not None
        _capabilities[(category, subcategory)] = checked.capabilities.to_document()
    return copy.deepcopy(_capabilities[(category, subcategory)])


@pytest.fixture(scope="module")
def seller(postgres: Postgres) -> str:
    tenant_id = str(uuid.uuid4())
    with psycopg.connect(postgres.owner_url, autocommit=True) as conn:
        conn.execute(
            "insert into tenants (id, name, slug) values (%s, %s, %s)",
            (tenant_id, "Acme AI Solutions", f"acme-{tenant_id[:8]}"),
        )
    return tenant_id


@pytest.fixture
def publish(db: Database, seller: str) -> Any:
    """Publish a product as its seller: a products row (approved) and its marketplace listing."""

    def _publish(
        name: str,
        *,
        tags: list[str],
        category: str = "agent",
        subcategory: str = "single",
        short: str | None = None,
        full: str = "",
        plans: list[dict[str, Any]] | None = None,
        featured: bool = False,
        rating: str = "0",
        rating_count: int = 0,
        subscribers: int = 0,
        published_at: datetime | None = None,
        logo_key: str | None = None,
        screenshot_keys: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        plans = plans if plans is not None else [plan("Starter", "starter", "29")]
        currency = plans[0]["currency"]
        prices = [
            to_minor(p["priceMonthly"], currency)
            for p in plans
            if p["priceMonthly"] is not None and p["currency"] == currency
        ]
        slug = f"{'-'.join(name.lower().split())}-{uuid.uuid4().hex[:6]}"
        when = published_at or BASE_TIME + timedelta(minutes=next(_clock))
        caps = capabilities(category, subcategory)
        with db.session(seller) as session:
            row = session.fetch_one(
                "insert into products (tenant_id, category, subcategory, tags, capabilities, name, slug,"
                " short_description, full_description, status, live_version, published_at)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'approved', '1.0.0', %s) returning id",
                (
                    seller,
                    category,
                    subcategory,
                    Jsonb(tags),
                    Jsonb(caps),
                    name,
                    slug,
                    short or name,
                    full,
                    when,
                ),
            )
            assert row is not None
            session.execute(
                "insert into marketplace_listings (product_id, tenant_id, version, slug, name, short_description,"
                " full_description, category, subcategory, tags, seller_name, logo_key, screenshot_keys,"
                " capabilities, plans, min_price_minor, currency, runtime_types, featured, rating_avg,"
                " rating_count, subscriber_count, published_at)"
                " values (%s, %s, '1.0.0', %s, %s, %s, %s, %s, %s, %s, 'Acme AI Solutions', %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s)",
                (
                    row["id"],
                    seller,
                    slug,
                    name,
                    short or name,
                    full,
                    category,
                    subcategory,
                    tags,
                    logo_key,
                    Jsonb(list(screenshot_keys)),
                    Jsonb(caps),
                    Jsonb(plans),
                    min(prices) if prices else None,
                    currency,
                    sorted({p["runtimeType"] for p in plans}),
                    featured,
                    Decimal(rating),
                    rating_count,
                    subscribers,
                    when,
                ),
            )
        return {"id": str(row["id"]), "slug": slug, "name": name, "plans": plans}

    return _publish


@pytest.fixture
def marketplace(db: Database) -> MarketplaceService:
    return MarketplaceService(db, asset_url=lambda key: ASSETS + key)


def search(service: MarketplaceService, **params: str) -> list[str]:
    """Names of one page of results."""
    return [item["name"] for item in service.search(search_from_query(params))["items"]]


def walk(service: MarketplaceService, **params: str) -> list[str]:
    """Names of every page, following next_cursor (a cursor that never ends fails, not hangs)."""
    names: list[str] = []
    cursor = None
    for _ in range(100):
        page = service.search(search_from_query({**params, "cursor": cursor}))
        names.extend(item["name"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return names
    raise AssertionError(f"pagination did not end; first names: {names[:10]}")


# ---------------------------------------------------------------------------------------------- HTTP
class FakeContext:
    function_name = "marketplace-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:marketplace-api"
    aws_request_id = "test-request"


@pytest.fixture(scope="module")
def handler_module() -> ModuleType:
    """functions/marketplace_api/app.py, loaded by path as Lambda would load it."""
    spec = importlib.util.spec_from_file_location(
        "marketplace_api_app", REPO / "functions/marketplace_api/app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def api(
    handler_module: ModuleType, marketplace: MarketplaceService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """GET a marketplace path through the handler; returns (status, JSON body)."""
    monkeypatch.setattr(handler_module.services, "marketplace", marketplace)
    template = json.loads((REPO / "events/marketplace_api.json").read_text())

    def get(path: str, query: dict[str, str] | None = None) -> tuple[int, Any]:
        event = copy.deepcopy(template)
        event["path"] = path
        event["pathParameters"] = {"proxy": path.removeprefix("/v1/marketplace/")}
        event["requestContext"]["path"] = "/dev" + path
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
        response = handler_module.handler(event, FakeContext())
        return response["statusCode"], json.loads(response["body"])

    yield get


def error_paths(body: dict[str, Any]) -> list[str]:
    assert body["error"] == "validation_failed", body
    return [e["path"] for e in body["errors"]]


# ---------------------------------------------------------------------------------------------- categories
def test_categories_lists_all_four_in_spec_order_with_live_counts(api: Any, publish: Any) -> None:
    status, before = api("/v1/marketplace/categories")
    assert status == 200
    tag = new_tag()
    publish("Count One", tags=[tag], category="agent", subcategory="single")
    publish("Count Two", tags=[tag], category="agent", subcategory="single")
    publish("Count Three", tags=[tag], category="automation", subcategory="scheduled")
    status, after = api("/v1/marketplace/categories")
    assert status == 200

    assert [c["id"] for c in after["categories"]] == ["agent", "app", "assistant", "automation"]
    for category in after["categories"]:
        assert [s["id"] for s in category["subcategories"]] == CATEGORIES[category["id"]]
        assert category["name"] and category["description"]
        assert category["product_count"] == sum(s["product_count"] for s in category["subcategories"])

    def counts(body: dict[str, Any]) -> dict[tuple[str, str], int]:
        return {
            (c["id"], s["id"]): s["product_count"] for c in body["categories"] for s in c["subcategories"]
        }

    grew = {key: counts(after)[key] - n for key, n in counts(before).items() if counts(after)[key] != n}
    assert grew == {("agent", "single"): 2, ("automation", "scheduled"): 1}
    by_id = {c["id"]: c for c in after["categories"]}
    assert by_id["agent"]["name"] == "Agents"
    assert by_id["agent"]["subcategories"][0]["name"] == "Single agent"


# ---------------------------------------------------------------------------------------------- visibility
def test_drafts_never_appear(
    db: Database, seller: str, publish: Any, marketplace: MarketplaceService
) -> None:
    tag = new_tag()
    publish("Visible Vole", tags=[tag])
    draft_slug = f"draft-vole-{uuid.uuid4().hex[:6]}"
    with db.session(seller) as session:
        draft = session.fetch_one(
            "insert into products (tenant_id, category, subcategory, tags, name, slug, short_description, status)"
            " values (%s, 'agent', 'single', %s, 'Draft Vole', %s, 'not yet', 'draft') returning id",
            (seller, Jsonb([tag]), draft_slug),
        )
    assert draft is not None

    assert search(marketplace, tags=tag) == ["Visible Vole"]
    assert search(marketplace, q="vole", tags=tag) == ["Visible Vole"]
    for ref in (str(draft["id"]), draft_slug):
        with pytest.raises(NotFound):
            marketplace.product(ref)


@pytest.mark.parametrize(
    "statement",
    [
        "update marketplace_catalog set featured = true",
        "delete from marketplace_catalog",
        "insert into marketplace_catalog (product_id) values (gen_random_uuid())",
    ],
)
def test_the_public_view_is_read_only_even_for_a_seller(
    db: Database, seller: str, publish: Any, statement: str
) -> None:
    publish("Guarded Gull", tags=[new_tag()])
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.session(seller) as session:
        session.execute(statement)


# ---------------------------------------------------------------------------------------------- full-text search
def test_prefix_finds_a_word_from_its_start(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Helpdesk Support Agent", tags=[tag])
    publish("Invoice Parser", tags=[tag])
    assert search(marketplace, q="supp", tags=tag) == ["Helpdesk Support Agent"]
    assert search(marketplace, q="SUPPORT", tags=tag) == ["Helpdesk Support Agent"]
    assert search(marketplace, q="pars", tags=tag) == ["Invoice Parser"]


def test_a_prefix_of_a_word_whose_stem_is_shorter_still_matches_the_name(
    publish: Any, marketplace: MarketplaceService
) -> None:
    tag = new_tag()
    publish("Running Coach", tags=[tag])
    publish("Happiness Survey", tags=[tag])
    assert search(marketplace, q="runn", tags=tag) == ["Running Coach"]
    assert search(marketplace, q="happines", tags=tag) == ["Happiness Survey"]


def test_a_stop_word_still_finds_a_name(publish: Any, marketplace: MarketplaceService) -> None:
    """English drops "it" and stems "ready" to "readi"; the unstemmed form still matches names and tags."""
    tag = new_tag()
    publish("IT Helpdesk", tags=[tag])
    publish("Readymade Reports", tags=[tag])
    assert search(marketplace, q="it", tags=tag) == ["IT Helpdesk"]
    assert search(marketplace, q="ready", tags=tag) == ["Readymade Reports"]


def test_words_under_three_characters_are_whole_words(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("X Ray Reader", tags=[tag])
    publish("Xylophone Tutor", tags=[tag])
    publish("AI Scheduler", tags=[tag])
    assert search(marketplace, q="x", tags=tag) == ["X Ray Reader"]
    assert search(marketplace, q="xy", tags=tag) == []
    assert search(marketplace, q="xyl", tags=tag) == ["Xylophone Tutor"]
    assert search(marketplace, q="ai", tags=tag) == ["AI Scheduler"]


def test_a_stemmed_form_finds_the_word(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Refund Agent", tags=[tag], full="Handles the refunding of orders.")
    assert search(marketplace, q="agents", tags=tag) == ["Refund Agent"]
    assert search(marketplace, q="refunded", tags=tag) == ["Refund Agent"]


def test_descriptions_and_tags_are_searched(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Quiet Owl", tags=[tag], short="Summarises meetings into minutes")
    publish("Loud Owl", tags=[tag, "podcasting"], full="## What it does\nTranscribes *audio* files.")
    assert search(marketplace, q="meeting", tags=tag) == ["Quiet Owl"]
    assert search(marketplace, q="transcrib", tags=tag) == ["Loud Owl"]
    assert search(marketplace, q="podcast", tags=tag) == ["Loud Owl"]


def test_accents_are_ignored_on_both_sides(publish: Any, marketplace: MarketplaceService) -> None:
    """Migration 0008: the listing's vector and the query words both go through `unaccent`."""
    tag = new_tag()
    publish("Café Crème", tags=[tag])
    for q in ("cafe", "creme", "café", "CAFÉ", "caf", "crè", "cafe creme"):
        assert search(marketplace, q=q, tags=tag) == ["Café Crème"], q
    other = new_tag()
    publish("Cafe Creme", tags=[other], short="Naïve Smörgåsbord planner")
    for q in ("café", "crème", "cafés", "naive", "smorgasbord", "naïve"):
        assert search(marketplace, q=q, tags=other) == ["Cafe Creme"], q


def test_an_accented_search_ranks_and_uses_the_search_index(
    db: Database, publish: Any, marketplace: MarketplaceService
) -> None:
    """Accents change neither the weights (a name match first) nor the GIN index the search reads."""
    tag = new_tag()
    publish("Crème Planner", tags=[tag], short="Plans desserts", published_at=BASE_TIME)
    publish("Dessert Desk", tags=[tag], short="Creme brulee recipes", rating="5", subscribers=900)
    publish("Pastry Pal", tags=[tag], full="Every crème, every day.")
    assert search(marketplace, q="creme", tags=tag) == ["Crème Planner", "Dessert Desk", "Pastry Pal"]
    query, params = build_search_sql(search_from_query({"q": "crème", "sort": "relevance"}))
    with db.session() as session:
        session.execute("set local enable_seqscan = off")
        plan = "\n".join(row["QUERY PLAN"] for row in session.fetch_all("explain " + query, params))
    assert "Bitmap Index Scan on marketplace_listings_search" in plan, plan


def test_all_words_must_match(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Invoice Parser", tags=[tag])
    publish("Invoice Writer", tags=[tag])
    assert sorted(search(marketplace, q="invoice", tags=tag)) == ["Invoice Parser", "Invoice Writer"]
    assert search(marketplace, q="invoice writ", tags=tag) == ["Invoice Writer"]
    assert search(marketplace, q="invoice spaceship", tags=tag) == []


def test_a_name_match_outranks_a_description_match(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Anchor Desk", tags=[tag], short="Keeps the crew in sync", published_at=BASE_TIME)
    publish(
        "Harbor Kit",
        tags=[tag],
        rating="5",
        subscribers=900,
        short="Anchor planning for ships",
        full="Anchor checklists, anchor logs, anchor maps, anchor drills.",
    )
    publish("Tide Tables", tags=[tag], full="Works once the anchor is down.")
    assert search(marketplace, q="anchor", tags=tag) == ["Anchor Desk", "Harbor Kit", "Tide Tables"]


@pytest.mark.parametrize(
    "q",
    [
        "'; drop table marketplace_listings; --",
        "a & b | !c",
        "foo:* <-> bar",
        "(((",
        "\\",
        "'\"",
        "supp%",
        "日本語 サポート",
        "😀 agent",
        "x" * 5000,
        "",
        "   ",
        "nul\x00byte",
        "a:b:*",
        "-",
        "and or not",
        "<script>",
        "select * from tenants",
        "$1",
        "%(limit)s",
        "word " * 11,
    ],
)
def test_hostile_search_text_gets_results_or_422_never_500(api: Any, q: str) -> None:
    status, body = api("/v1/marketplace/products", {"q": q})
    assert status in (200, 422), body
    if status == 422:
        assert error_paths(body) == ["query.q"]
    else:
        assert isinstance(body["items"], list)


NASTY = [
    "",
    " ",
    "\x00",
    "é",
    "😀",
    "'",
    "%",
    "%%",
    "-1",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 400,
    "a,,b,",
    "\n",
    "0x10",
    "١٢",
    "e30.é",
    "null",
    "[]",
    "{}",
    "\\",
    "<->",
    "::",
    "x" * 3000,
]


@pytest.mark.parametrize(
    "name",
    ["q", "category", "subcategory", "tags", "min_price", "max_price", "runtime", "sort", "limit", "cursor"],
)
def test_no_value_of_any_search_parameter_is_a_500(api: Any, name: str) -> None:
    for value in NASTY:
        status, body = api("/v1/marketplace/products", {name: value})
        assert status in (200, 422), (name, value, body)
        if status == 422:
            assert {e["path"] for e in body["errors"]} <= {f"query.{name}", "query.sort"}, (name, value, body)


def test_no_value_of_the_other_routes_is_a_500(api: Any) -> None:
    for value in NASTY:
        for path, query in (
            ("/v1/marketplace/compare", {"products": value}),
            ("/v1/marketplace/compare", {"products": f"{value},{value}"}),
            ("/v1/marketplace/featured", {"limit": value}),
            (f"/v1/marketplace/products/{value}", None),
        ):
            status, body = api(path, query)
            assert status in (200, 404, 422), (path, value, body)


def test_sql_in_the_search_text_is_only_text(api: Any, publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    publish("Drop Table Tennis Coach", tags=[tag])
    status, body = api("/v1/marketplace/products", {"q": "drop table; --", "tags": tag})
    assert status == 200
    assert [item["name"] for item in body["items"]] == ["Drop Table Tennis Coach"]
    assert search(marketplace, tags=tag) == ["Drop Table Tennis Coach"]


# ---------------------------------------------------------------------------------------------- filters
@pytest.fixture
def shelf(publish: Any) -> str:
    tag = new_tag()
    publish(
        "Free Greeter",
        tags=[tag, "support"],
        category="agent",
        subcategory="single",
        plans=[plan("Free", "starter", "0")],
    )
    publish("Deal Closer", tags=[tag, "sales"], category="agent", subcategory="multi")
    publish(
        "Nightly Reports",
        tags=[tag, "support", "ops"],
        category="automation",
        subcategory="scheduled",
        plans=[plan("Pro", "pro", "99"), plan("Enterprise", "enterprise", None)],
    )
    publish(
        "Brand Writer",
        tags=[tag, "marketing"],
        category="assistant",
        subcategory="writer",
        plans=[plan("Enterprise", "enterprise", None)],
    )
    publish(
        "Sheet Sync", tags=[tag], category="app", subcategory="connector", plans=[plan("Pro", "pro", "49.50")]
    )
    return tag


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "agent"}, {"Free Greeter", "Deal Closer"}),
        ({"subcategory": "multi"}, {"Deal Closer"}),
        ({"category": "agent", "subcategory": "single"}, {"Free Greeter"}),
        ({"tags": "support"}, {"Free Greeter", "Nightly Reports"}),
        ({"tags": "support,ops"}, {"Nightly Reports"}),
        ({"max_price": "0"}, {"Free Greeter"}),
        ({"min_price": "29"}, {"Deal Closer", "Nightly Reports", "Sheet Sync"}),
        ({"min_price": "30", "max_price": "100"}, {"Nightly Reports", "Sheet Sync"}),
        ({"max_price": "49.50"}, {"Free Greeter", "Deal Closer", "Sheet Sync"}),
        ({"runtime": "dedicated"}, {"Nightly Reports", "Brand Writer"}),
        ({"runtime": "shared"}, {"Free Greeter", "Deal Closer", "Nightly Reports", "Sheet Sync"}),
        ({"category": "agent", "max_price": "10", "runtime": "shared"}, {"Free Greeter"}),
    ],
)
def test_each_filter(
    shelf: str, marketplace: MarketplaceService, params: dict[str, str], expected: set[str]
) -> None:
    tags = ",".join([shelf, params["tags"]]) if "tags" in params else shelf
    assert set(search(marketplace, **{**params, "tags": tags})) == expected


def test_min_rating_keeps_reviewed_products_at_or_above_it(
    publish: Any, marketplace: MarketplaceService
) -> None:
    tag = new_tag()
    publish("Loved Bot", tags=[tag], rating="4.80", rating_count=12)
    publish("Fine Bot", tags=[tag], rating="4.00", rating_count=3)
    publish("Meh Bot", tags=[tag], rating="3.99", rating_count=40)
    publish("New Bot", tags=[tag], rating="0", rating_count=0)
    assert set(search(marketplace, tags=tag, min_rating="4")) == {"Loved Bot", "Fine Bot"}
    assert set(search(marketplace, tags=tag, min_rating="4.5")) == {"Loved Bot"}
    assert set(search(marketplace, tags=tag, min_rating="1")) == {"Loved Bot", "Fine Bot", "Meh Bot"}


@pytest.fixture
def currencies(publish: Any) -> str:
    """Products priced in USD, EUR and JPY (and one from before the one-currency rule: 29 USD and 10 EUR)."""
    tag = new_tag()
    publish("Dollar Bot", tags=[tag], plans=[plan("S", "starter", "19.99")])
    publish("Euro Bot", tags=[tag], plans=[plan("S", "starter", "10", currency="EUR")])
    publish("Yen Bot", tags=[tag], plans=[plan("S", "starter", "1500", currency="JPY")])
    publish("Dinar Bot", tags=[tag], plans=[plan("S", "starter", "1.5", currency="KWD")])
    publish(
        "Mixed Bot",
        tags=[tag],
        plans=[plan("S", "starter", "29"), plan("P", "pro", "10", currency="EUR")],
    )
    return tag


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_price": "20"}, ["Dollar Bot"]),  # 10 EUR and 1500 JPY are not "under 20 dollars"
        ({"max_price": "20", "currency": "EUR"}, ["Euro Bot"]),
        ({"max_price": "30"}, ["Dollar Bot", "Mixed Bot"]),  # the mixed one costs 29 USD, never "10.0 USD"
        ({"min_price": "1500", "max_price": "1500", "currency": "jpy"}, ["Yen Bot"]),
        ({"max_price": "1.500", "currency": "KWD"}, ["Dinar Bot"]),
        ({"sort": "price_asc"}, ["Dollar Bot", "Mixed Bot"]),
        ({"sort": "price_desc"}, ["Mixed Bot", "Dollar Bot"]),
        ({"sort": "price_asc", "currency": "EUR"}, ["Euro Bot"]),
        (
            {"sort": "name", "currency": "EUR"},
            ["Dinar Bot", "Dollar Bot", "Euro Bot", "Mixed Bot", "Yen Bot"],
        ),
    ],
)
def test_prices_are_compared_in_one_currency(
    currencies: str, marketplace: MarketplaceService, params: dict[str, str], expected: list[str]
) -> None:
    found = search(marketplace, tags=currencies, **params)
    assert (found if "sort" in params else sorted(found)) == expected


def test_cards_show_the_starting_price_with_the_currency_exponent(currencies: str, api: Any) -> None:
    status, body = api("/v1/marketplace/products", {"tags": currencies, "sort": "name"})

    assert status == 200, body
    assert [(item["name"], item["min_price_monthly"], item["currency"]) for item in body["items"]] == [
        ("Dinar Bot", "1.500", "KWD"),
        ("Dollar Bot", "19.99", "USD"),
        ("Euro Bot", "10.00", "EUR"),
        ("Mixed Bot", "29.00", "USD"),
        ("Yen Bot", "1500", "JPY"),
    ]


def test_an_unknown_currency_or_a_yen_fraction_is_a_422(api: Any) -> None:
    status, body = api("/v1/marketplace/products", {"currency": "ABC", "max_price": "1500.5"})
    assert status == 422
    assert [e["path"] for e in body["errors"]] == ["query.currency"]

    status, body = api("/v1/marketplace/products", {"currency": "JPY", "max_price": "1500.5"})
    assert status == 422
    assert body["errors"] == [
        {
            "path": "query.max_price",
            "message": "is not an amount of JPY: JPY has no minor unit (ISO 4217 exponent 0): 1500.5 is not a "
            "whole number of JPY",
        }
    ]


# ---------------------------------------------------------------------------------------------- sorts and pages
@pytest.fixture
def ranked(publish: Any) -> tuple[str, dict[str, str]]:
    """Six listings whose order differs under every sort, with ties a later key must settle:
    (their tag, name → id)."""
    tag = new_tag()
    ids = {}
    for name, price, rating, count, subscribers in (
        ("Bravo", "19", "4.50", 10, 50),
        ("alpha", "49", "4.50", 30, 500),
        ("Delta", None, "3.00", 2, 5),
        ("Charlie", "19", "5.00", 1, 50),
        ("Echo", "0", "0", 0, 0),
        ("Foxtrot", "99", "4.00", 8, 120),
    ):
        tier = "starter" if price is not None else "enterprise"
        ids[name] = publish(
            name,
            tags=[tag],
            plans=[plan("P", tier, price)],
            rating=rating,
            rating_count=count,
            subscribers=subscribers,
        )["id"]
    return tag, ids


def test_every_sort_orders_and_pages_the_same(
    ranked: tuple[str, dict[str, str]], marketplace: MarketplaceService
) -> None:
    tag, ids = ranked
    cheap_tie = sorted(["Bravo", "Charlie"], key=ids.__getitem__)
    expected = {
        "newest": ["Foxtrot", "Echo", "Charlie", "Delta", "alpha", "Bravo"],
        "price_asc": ["Echo", *cheap_tie, "alpha", "Foxtrot", "Delta"],
        "price_desc": ["Foxtrot", "alpha", *cheap_tie, "Echo", "Delta"],
        "rating": ["Charlie", "alpha", "Bravo", "Foxtrot", "Delta", "Echo"],
        "popular": ["alpha", "Foxtrot", "Charlie", "Bravo", "Delta", "Echo"],
        "name": ["alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"],
    }
    for sort, names in expected.items():
        assert search(marketplace, tags=tag, sort=sort) == names, sort
        for limit in ("1", "2", "4"):
            assert walk(marketplace, tags=tag, sort=sort, limit=limit) == names, (sort, limit)
    by_relevance = search(marketplace, q=tag, tags=tag)
    assert by_relevance == sorted(expected["name"], key=ids.__getitem__), "equal rank: by id"
    assert walk(marketplace, q=tag, tags=tag, limit="2") == by_relevance


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "rating", "popular", "name"])
def test_each_browse_order_is_read_from_an_index_not_sorted(db: Database, sort: str) -> None:
    """Guards migration 0003 against drift: the sort keys and their index must stay identical."""
    query, params = build_search_sql(search_from_query({"sort": sort}))
    with db.session() as session:
        session.execute("set local enable_seqscan = off")
        plan = "\n".join(row["QUERY PLAN"] for row in session.fetch_all("explain " + query, params))
    assert "Index Scan using marketplace_listings_" in plan, plan
    assert "Sort" not in plan, plan


def test_relevance_pages_by_rank_then_id(publish: Any, marketplace: MarketplaceService) -> None:
    tag = new_tag()
    for n in range(7):
        publish(f"Ledger {n}", tags=[tag], full=" ".join(["ledger"] * n))
    ranked_once = search(marketplace, q="ledger", tags=tag, limit="50")
    assert len(ranked_once) == 7
    assert walk(marketplace, q="ledger", tags=tag, limit="3") == ranked_once


def test_cursor_walks_every_page_without_duplicates_or_gaps(api: Any, publish: Any) -> None:
    tag = new_tag()
    names = {publish(f"Walker {n:02d}", tags=[tag])["name"] for n in range(23)}
    seen: list[str] = []
    query = {"tags": tag, "limit": "5"}
    pages = 0
    while True:
        status, body = api("/v1/marketplace/products", query)
        assert status == 200
        pages += 1
        seen.extend(item["name"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        query = {**query, "cursor": body["next_cursor"]}
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == names
    assert seen == sorted(names, reverse=True)


def test_pages_stay_stable_when_products_are_published_meanwhile(
    publish: Any, marketplace: MarketplaceService
) -> None:
    tag = new_tag()
    originals = [publish(f"Steady {n}", tags=[tag])["name"] for n in range(6)]
    first = marketplace.search(search_from_query({"tags": tag, "limit": "3"}))
    publish("Newcomer", tags=[tag], published_at=BASE_TIME + timedelta(days=3650))
    rest = marketplace.search(search_from_query({"tags": tag, "limit": "3", "cursor": first["next_cursor"]}))
    seen = [item["name"] for item in first["items"] + rest["items"]]
    assert seen == list(reversed(originals))
    assert rest["next_cursor"] is None


# ---------------------------------------------------------------------------------------------- bad parameters
def _cursor(api: Any, query: dict[str, str]) -> str:
    status, body = api("/v1/marketplace/products", {**query, "limit": "1"})
    assert status == 200 and body["next_cursor"], body
    return str(body["next_cursor"])


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ({"sort": "bogus"}, "query.sort"),
        ({"sort": "relevance"}, "query.sort"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "51"}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"limit": "-1"}, "query.limit"),
        ({"min_price": "-1"}, "query.min_price"),
        ({"min_price": "abc"}, "query.min_price"),
        ({"max_price": "NaN"}, "query.max_price"),
        ({"min_price": "50", "max_price": "10"}, "query.max_price"),
        ({"category": "robots"}, "query.category"),
        ({"category": "agent", "subcategory": "writer"}, "query.subcategory"),
        ({"subcategory": "nope"}, "query.subcategory"),
        ({"runtime": "gpu"}, "query.runtime"),
        ({"tags": "bad tag!"}, "query.tags"),
        ({"tags": ",".join(f"t{n}" for n in range(11))}, "query.tags"),
        ({"q": "x" * 201}, "query.q"),
        ({"q": "!!!"}, "query.q"),
        ({"cursor": "garbage"}, "query.cursor"),
        ({"cursor": "e30.0000000000000000"}, "query.cursor"),
        ({"cursor": "x" * 2000}, "query.cursor"),
        ({"cursor": "e30.é"}, "query.cursor"),
    ],
)
def test_a_bad_search_parameter_is_a_422_naming_it(api: Any, query: dict[str, str], path: str) -> None:
    status, body = api("/v1/marketplace/products", query)
    assert status == 422, body
    assert path in error_paths(body)


def test_every_bad_parameter_is_reported_at_once(api: Any) -> None:
    status, body = api("/v1/marketplace/products", {"sort": "up", "limit": "0", "runtime": "gpu"})
    assert status == 422
    assert set(error_paths(body)) == {"query.sort", "query.limit", "query.runtime"}


def test_a_cursor_only_continues_its_own_search(api: Any, publish: Any) -> None:
    tag = new_tag()
    for n in range(3):
        publish(f"Cursor {n}", tags=[tag])
    newest = _cursor(api, {"tags": tag})
    for other in ({"tags": tag, "sort": "name"}, {"tags": tag, "category": "agent"}, {"tags": f"{tag},x"}):
        status, body = api("/v1/marketplace/products", {**other, "cursor": newest})
        assert status == 422, other
        assert error_paths(body) == ["query.cursor"]
    status, _ = api("/v1/marketplace/products", {"tags": tag, "cursor": newest, "limit": "7"})
    assert status == 200


def test_an_altered_cursor_is_a_422(api: Any, publish: Any) -> None:
    tag = new_tag()
    for n in range(3):
        publish(f"Tamper {n}", tags=[tag])
    cursor = _cursor(api, {"tags": tag, "sort": "price_asc"})
    status, _ = api("/v1/marketplace/products", {"tags": tag, "sort": "price_asc", "cursor": cursor})
    assert status == 200
    body_part, checksum = cursor.split(".")
    flipped = body_part[:-2] + ("A" if body_part[-2] != "A" else "B") + body_part[-1]
    for altered in (f"{flipped}.{checksum}", f"{body_part}.{'0' * len(checksum)}", cursor[:-1], cursor + "x"):
        status, body = api("/v1/marketplace/products", {"tags": tag, "sort": "price_asc", "cursor": altered})
        assert status == 422, altered
        assert error_paths(body) == ["query.cursor"]


# ---------------------------------------------------------------------------------------------- details
def test_details_show_the_listing_capabilities_and_plans_side_by_side(api: Any, publish: Any) -> None:
    tag = new_tag()
    product = publish(
        "Customer Support Agent",
        tags=[tag, "support"],
        full="# Support\n\nAnswers **every** question.",
        logo_key="products/x/logo.png",
        screenshot_keys=("products/x/1.png", "products/x/2.png"),
        plans=[
            plan("Starter", "starter", "29", "290", features=("Email support",)),
            plan("Pro", "pro", "99.50", "990", features=("Email support", "Priority support")),
            plan("Enterprise", "enterprise", None, features=("Custom SLA",)),
        ],
    )
    for ref in (product["slug"], product["id"], product["id"].upper()):
        status, body = api(f"/v1/marketplace/products/{ref}")
        assert status == 200, (ref, body)
        assert body["id"] == product["id"]

    assert body["full_description"].startswith("# Support")
    assert body["logo_url"] == ASSETS + "products/x/logo.png"
    assert body["screenshot_urls"] == [ASSETS + "products/x/1.png", ASSETS + "products/x/2.png"]
    assert body["min_price_monthly"] == "29.00" and body["currency"] == "USD"
    assert body["runtime_types"] == ["dedicated", "shared"]
    assert body["capabilities"]["category"] == "Agent"
    assert "Chat (text)" in body["capabilities"]["interfaces"]
    assert body["capabilities"]["you_can_configure"]
    assert [p["name"] for p in body["plans"]] == ["Starter", "Pro", "Enterprise"]
    assert (body["plans"][1]["price_monthly"], body["plans"][1]["price_yearly"]) == ("99.50", "990.00")
    assert body["plans"][2]["price_monthly"] is None
    assert [p["id"] for p in body["plans"]] == [p["id"] for p in product["plans"]]
    assert body["plans"][0]["limits"]["rate_limit_rpm"] == 60

    comparison = body["comparison"]
    assert comparison["columns"] == ["Starter", "Pro", "Enterprise"]
    rows = {row["label"]: row["values"] for row in comparison["rows"]}
    assert rows["Price / month"] == ["$29", "$99.50", "Contact us"]
    assert rows["Price / year"] == ["$290", "$990", "Contact us"]
    assert rows["Runtime"] == ["Shared", "Shared", "Dedicated"]
    assert rows["Messages / month"] == ["1,000", "10,000", "Unlimited"]
    assert rows["Users"] == ["1", "5", "Unlimited"]
    assert rows["Requests / minute"] == ["60", "300", "300"]
    assert rows["Storage"] == ["500 MB", "500 MB", "500 MB"]
    assert rows["Email support"] == ["✓", "✓", "—"]
    assert rows["Priority support"] == ["—", "✓", "—"]
    assert rows["Custom SLA"] == ["—", "—", "✓"]
    assert "Workflow runs / month" not in rows


def test_unknown_or_malformed_product_is_404(api: Any) -> None:
    for ref in ("no-such-product", str(uuid.uuid4()), "UPPER_case", "x" * 300, "%00", "a'b"):
        status, body = api(f"/v1/marketplace/products/{ref}")
        assert status == 404, (ref, body)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/marketplace/categorie",
        "/v1/marketplace/products/a/b",
        "/v1/marketplace/products/\x00",
        "/v1/marketplace",
    ],
)
def test_a_path_no_route_matches_is_a_404(api: Any, path: str) -> None:
    status, body = api(path)
    assert status == 404, body
    assert body["error"] == "not_found"


def test_without_an_asset_url_maker_there_are_no_image_urls(db: Database, publish: Any) -> None:
    product = publish(
        "Plain Pike", tags=[new_tag()], logo_key="products/y/logo.png", screenshot_keys=("products/y/1.png",)
    )
    details = MarketplaceService(db).product(product["slug"])
    assert details["logo_url"] is None
    assert details["screenshot_urls"] == []


# ---------------------------------------------------------------------------------------------- compare
def test_compare_two_to_four_products_in_the_order_asked(api: Any, publish: Any) -> None:
    tag = new_tag()
    a = publish("Compare A", tags=[tag], plans=[plan("S", "starter", "10"), plan("P", "pro", "30")])
    b = publish(
        "Compare B",
        tags=[tag],
        category="automation",
        subcategory="workflow",
        plans=[plan("P", "pro", "20"), plan("E", "enterprise", None)],
    )
    c = publish("Compare C", tags=[tag], category="assistant", subcategory="writer")
    d = publish("Compare D", tags=[tag], category="app", subcategory="tool")

    status, body = api("/v1/marketplace/compare", {"products": f"{b['slug']},{a['id']}"})
    assert status == 200, body
    assert [p["name"] for p in body["products"]] == ["Compare B", "Compare A"]
    b_out, a_out = body["products"]
    assert a_out["price_range"] == {
        "min_monthly": "10.00",
        "max_monthly": "30.00",
        "currency": "USD",
        "custom_pricing": False,
    }
    assert b_out["price_range"] == {
        "min_monthly": "20.00",
        "max_monthly": "20.00",
        "currency": "USD",
        "custom_pricing": True,
    }
    assert b_out["plan_names"] == ["P", "E"]
    assert [p["id"] for p in b_out["plans"]] == [p["id"] for p in b["plans"]]
    assert [p["price_monthly"] for p in b_out["plans"]] == ["20.00", None]
    assert b_out["capabilities"]["category"] == "Automation"
    assert a_out["capabilities"]["category"] == "Agent"

    status, body = api("/v1/marketplace/compare", {"products": ",".join(p["slug"] for p in (d, c, b, a))})
    assert status == 200
    assert [p["name"] for p in body["products"]] == ["Compare D", "Compare C", "Compare B", "Compare A"]


@pytest.mark.parametrize("count", [0, 1, 5])
def test_compare_needs_two_to_four(api: Any, publish: Any, count: int) -> None:
    tag = new_tag()
    slugs = [publish(f"Few {n}", tags=[tag])["slug"] for n in range(count)]
    status, body = api("/v1/marketplace/compare", {"products": ",".join(slugs)} if slugs else None)
    assert status == 422
    assert error_paths(body) == ["query.products"]


def test_compare_names_the_unknown_product(api: Any, publish: Any) -> None:
    known = publish("Known Kite", tags=[new_tag()])
    status, body = api("/v1/marketplace/compare", {"products": f"{known['slug']},ghost-product"})
    assert status == 404
    assert "ghost-product" in body["message"]
    assert [e["path"] for e in body["errors"]] == ["query.products[1]"]


def test_compare_refuses_the_same_product_twice(marketplace: MarketplaceService, publish: Any) -> None:
    twin = publish("Twin Tern", tags=[new_tag()])
    with pytest.raises(ValidationFailed) as caught:
        marketplace.compare([twin["slug"], twin["id"]])
    assert caught.value.errors[0].path == "query.products"


# ---------------------------------------------------------------------------------------------- featured
def test_featured_first_then_best_rated_then_newest(api: Any, publish: Any) -> None:
    tag = new_tag()
    publish("Star Low", tags=[tag], featured=True, rating="3.00", rating_count=3)
    publish("Star High", tags=[tag], featured=True, rating="4.90", rating_count=40)
    publish("Plain Best", tags=[tag], rating="5.00", rating_count=12)
    publish(
        "Plain Older", tags=[tag], rating="4.20", rating_count=7, published_at=BASE_TIME - timedelta(days=9)
    )
    publish(
        "Plain Newer", tags=[tag], rating="4.20", rating_count=7, published_at=BASE_TIME - timedelta(days=1)
    )

    status, body = api("/v1/marketplace/featured", {"limit": "50"})
    assert status == 200
    items = body["items"]
    mine = [item["name"] for item in items if tag in item["tags"]]
    assert mine == ["Star High", "Star Low", "Plain Best", "Plain Newer", "Plain Older"]
    keys = [(not item["featured"], -item["rating_avg"]) for item in items]
    assert keys == sorted(keys)

    status, body = api("/v1/marketplace/featured", {"limit": "1"})
    assert status == 200 and len(body["items"]) == 1 and body["items"][0]["featured"]
    status, body = api("/v1/marketplace/featured", {"limit": "0"})
    assert status == 422 and error_paths(body) == ["query.limit"]
