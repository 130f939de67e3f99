"""Migration 0009 on data written under 0008's rules: plan ids backfilled alike in the three places a plan
lives, prices rewritten with their currency's exponent, the listing's starting price in minor units of its
one currency, and data the new rules cannot read refused with the product named."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from cmp.db.migrate import available_migrations
from cmp_dev.local.stack import Postgres, with_database

pytestmark = pytest.mark.integration

PLAN_ID = re.compile(r"plan_[a-z2-7]{12}")


@pytest.fixture
def legacy(postgres: Postgres) -> Iterator[psycopg.Connection[Any]]:
    """A database at migration 0008 (its own, dropped afterwards), connected as the owner."""
    name = f"cmp_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(postgres.owner_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        with psycopg.connect(with_database(postgres.owner_url, name), autocommit=True) as conn:
            for migration in available_migrations():
                if migration.version < "0009":
                    conn.execute(migration.sql)
            yield conn
    finally:
        with psycopg.connect(postgres.owner_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def migrate_0009(conn: psycopg.Connection[Any]) -> None:
    [migration] = [m for m in available_migrations() if m.version.startswith("0009")]
    with conn.transaction():
        conn.execute(migration.sql)


def old_plan(
    name: str, monthly: str | None, currency: str = "USD", yearly: str | None = None
) -> dict[str, Any]:
    """A plan as 0008-era code stored it: no id, prices with two decimals whatever the currency."""
    return {
        "name": name,
        "tier": "starter" if monthly else "enterprise",
        "priceMonthly": monthly,
        "priceYearly": yearly,
        "currency": currency,
        "limits": {},
        "runtimeType": "shared",
        "features": [],
    }


def add_product(
    conn: psycopg.Connection[Any], plans: list[dict[str, Any]], versions: list[list[dict[str, Any]]]
) -> str:
    tenant, product = str(uuid.uuid4()), str(uuid.uuid4())
    slug = f"p-{product[:8]}"
    conn.execute("insert into tenants (id, name, slug) values (%s, 'Seller', %s)", (tenant, slug))
    conn.execute(
        "insert into products (id, tenant_id, category, subcategory, name, slug, status, live_version)"
        " values (%s, %s, 'agent', 'single', 'P', %s, 'approved', %s)",
        (product, tenant, slug, f"1.{len(versions) - 1}.0"),
    )
    for position, spec in enumerate(plans):
        conn.execute(
            "insert into plans (tenant_id, product_id, position, spec) values (%s, %s, %s, %s)",
            (tenant, product, position, json.dumps(spec)),
        )
    for n, frozen in enumerate(versions):
        conn.execute(
            "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing)"
            " values (%s, %s, %s, '{}', %s, '{}')",
            (tenant, product, f"1.{n}.0", json.dumps(frozen)),
        )
    live = versions[-1]
    prices = [float(p["priceMonthly"]) for p in live if p["priceMonthly"]]
    conn.execute(
        "insert into marketplace_listings (product_id, tenant_id, version, slug, name, short_description,"
        " category, subcategory, seller_name, capabilities, plans, min_price_monthly, published_at)"
        " values (%s, %s, %s, %s, 'P', 'P', 'agent', 'single', 'Seller', '{}', %s, %s, now())",
        (
            product,
            tenant,
            f"1.{len(versions) - 1}.0",
            slug,
            json.dumps(live),
            min(prices) if prices else None,
        ),
    )
    return product


def stored(conn: psycopg.Connection[Any], product: str) -> dict[str, Any]:
    working = [
        r[0]
        for r in conn.execute("select spec from plans where product_id = %s order by position", (product,))
    ]
    versions = [
        r[0]
        for r in conn.execute(
            "select plans from product_versions where product_id = %s order by version", (product,)
        )
    ]
    row = conn.execute(
        "select plans, min_price_minor, currency from marketplace_listings where product_id = %s", (product,)
    ).fetchone()
    assert row is not None
    return {"working": working, "versions": versions, "listing": row[0], "min": row[1], "currency": row[2]}


def test_ids_are_backfilled_alike_everywhere_and_prices_get_the_currency_exponent(
    legacy: psycopg.Connection[Any],
) -> None:
    v1 = [old_plan("Starter", "29.00", yearly="290.00"), old_plan("Pro", "99.00")]
    v2 = [old_plan("starter", "39.00"), old_plan("Enterprise", None)]
    dollars = add_product(legacy, [old_plan("STARTER", "39.00"), old_plan("Team", "59.00")], [v1, v2])
    yen = add_product(legacy, [old_plan("Basic", "1500.00", "JPY")], [[old_plan("Basic", "1500.00", "JPY")]])
    dinar = add_product(legacy, [old_plan("Basic", "1.50", "KWD")], [[old_plan("Basic", "1.50", "KWD")]])
    mixed = add_product(legacy, [], [[old_plan("S", "29.00"), old_plan("P", "10.00", "EUR")]])

    migrate_0009(legacy)

    d = stored(legacy, dollars)
    starter_id = d["working"][0]["id"]
    assert PLAN_ID.fullmatch(starter_id)
    # One name (any case) has one id in the working copy, every version and the listing.
    assert [p["id"] for p in d["versions"][0]] == [starter_id, d["versions"][0][1]["id"]]
    assert d["versions"][1][0]["id"] == starter_id and d["listing"][0]["id"] == starter_id
    assert len({d["working"][1]["id"], d["versions"][0][1]["id"], d["versions"][1][1]["id"], starter_id}) == 4
    assert (d["versions"][0][0]["priceMonthly"], d["versions"][0][0]["priceYearly"]) == ("29.00", "290.00")
    assert (d["min"], d["currency"]) == (3900, "USD")

    y = stored(legacy, yen)
    assert y["working"][0]["priceMonthly"] == "1500" and y["listing"][0]["priceMonthly"] == "1500"
    assert (y["min"], y["currency"]) == (1500, "JPY")
    k = stored(legacy, dinar)
    assert k["listing"][0]["priceMonthly"] == "1.500" and (k["min"], k["currency"]) == (1500, "KWD")
    m = stored(legacy, mixed)
    assert (m["min"], m["currency"]) == (2900, "USD")  # plans[0]'s currency: 29 USD, never "10.0 USD"

    # Ids differ between products even for the same plan name.
    assert y["working"][0]["id"] != k["working"][0]["id"]
    columns = {
        r[0]
        for r in legacy.execute(
            "select column_name from information_schema.columns where table_name = 'marketplace_catalog'"
        )
    }
    assert {"min_price_minor", "currency"} <= columns and "min_price_monthly" not in columns


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        (
            old_plan("Odd", "9.00", "ABC"),
            "priced in ABC, which is not an ISO 4217 currency with a minor unit",
        ),
        (old_plan("Sen", "1500.50", "JPY"), "priced in JPY, which has 0 decimal places"),
    ],
)
def test_data_the_new_rules_cannot_read_stops_the_migration_naming_the_product(
    legacy: psycopg.Connection[Any], plan: dict[str, Any], reason: str
) -> None:
    product = add_product(legacy, [plan], [[plan]])

    with pytest.raises(psycopg.errors.RaiseException, match=reason) as stopped:
        migrate_0009(legacy)

    assert product in str(stopped.value)
    assert legacy.execute("select spec ? 'id' from plans where product_id = %s", (product,)).fetchone() == (
        False,
    )
