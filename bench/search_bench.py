"""Marketplace search benchmark: 10,000 realistic listings, p50/p99 of filtered full-text search.

Runs in its own database (`cmp_bench`) on an embedded PostgreSQL under `.local/pg-bench` (or on the
server of BENCH_DATABASE_URL), recreated on every run, so the figures do not depend on test leftovers.
Listings are generated deterministically from word lists; the timed path is the real one: query
parameters → `search_from_query` → `MarketplaceService.search`, connected as the application role.

    .venv/bin/python bench/search_bench.py [--products 10000] [--runs 500]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from cmp.capabilities import CATEGORIES, new_plan_id, plan_defaults, validate_capabilities
from cmp.catalog.marketplace import MarketplaceService
from cmp.catalog.search import ProductSearch, build_search_sql
from cmp.db import Database
from cmp.db.migrate import migrate
from cmp.money import to_minor
from cmp.web.query import search_from_query
from cmp_dev.bench_database import bench_database
from cmp_dev.local.stack import app_role_url

REPO = Path(__file__).resolve().parents[1]
DATABASE = "cmp_bench"
SEED = 20250101

ADJECTIVES = [
    "Swift",
    "Smart",
    "Clear",
    "Bright",
    "Quiet",
    "Rapid",
    "Steady",
    "Nimble",
    "Lucid",
    "Bold",
    "Keen",
    "Calm",
    "Prime",
    "True",
    "Agile",
    "Sharp",
    "Polar",
    "Solar",
    "Lunar",
    "Vivid",
]
TOPICS = {
    "Invoice": ["invoices", "receipts", "purchase orders", "payment reminders", "vendor bills"],
    "Support": ["support tickets", "customer questions", "refunds", "complaints", "help articles"],
    "Sales": ["sales leads", "deals", "quotes", "pipelines", "prospects"],
    "Recruiting": ["job applicants", "resumes", "interviews", "job descriptions", "candidates"],
    "Onboarding": ["new hires", "onboarding checklists", "welcome packs", "training plans"],
    "Payroll": ["payslips", "timesheets", "salaries", "tax forms", "bonuses"],
    "Marketing": ["campaigns", "ad copy", "landing pages", "audiences", "promotions"],
    "Email": ["inboxes", "email replies", "mailing lists", "email drafts", "follow-ups"],
    "Calendar": ["meetings", "appointments", "bookings", "time slots", "reminders"],
    "Contract": ["contracts", "clauses", "NDAs", "agreements", "renewals"],
    "Compliance": ["audits", "policies", "regulations", "risk registers", "controls"],
    "Inventory": ["stock levels", "warehouses", "SKUs", "reorders", "suppliers"],
    "Shipping": ["shipments", "parcels", "tracking numbers", "deliveries", "carriers"],
    "Analytics": ["dashboards", "metrics", "KPIs", "reports", "trends"],
    "Feedback": ["reviews", "ratings", "NPS surveys", "testimonials"],
    "Security": ["security alerts", "vulnerabilities", "incidents", "access logs", "phishing emails"],
    "Research": ["research papers", "citations", "literature reviews", "abstracts"],
    "Translation": ["translations", "subtitles", "glossaries", "localisation files"],
    "Podcast": ["podcast episodes", "show notes", "transcripts", "audio clips"],
    "Newsletter": ["newsletters", "subscriber lists", "digests", "editions"],
    "Social": ["social posts", "hashtags", "mentions", "comments"],
    "Knowledge": ["wiki pages", "FAQs", "manuals", "documentation"],
    "Expense": ["expense reports", "reimbursements", "corporate cards", "mileage logs"],
    "Legal": ["legal briefs", "case law", "court filings", "memos"],
    "Clinic": ["patient intake forms", "medical records", "prescriptions", "referrals"],
    "Property": ["property listings", "viewings", "leases", "maintenance requests"],
    "Classroom": ["lesson plans", "quizzes", "homework", "course outlines"],
    "Travel": ["itineraries", "flights", "hotel bookings", "visas"],
    "Restaurant": ["menus", "table reservations", "takeaway orders", "recipes"],
    "Storefront": ["product catalogs", "shopping carts", "checkouts", "product descriptions"],
    "Code": ["pull requests", "code reviews", "unit tests", "bug reports"],
    "Spreadsheet": ["spreadsheets", "CSV files", "SQL queries", "pivot tables"],
    "Design": ["logos", "banners", "mockups", "illustrations"],
    "Video": ["video clips", "thumbnails", "storyboards", "captions"],
    "Call": ["voicemails", "phone calls", "call recordings", "IVR menus"],
    "Helpdesk": ["password resets", "laptops", "software licenses", "device fleets"],
    "Procurement": ["tenders", "RFPs", "supplier quotes", "bids"],
    "Insurance": ["insurance claims", "underwriting files", "policy renewals", "loss reports"],
    "Fundraising": ["donors", "grant applications", "pledges", "donation receipts"],
    "Events": ["event registrations", "attendees", "badges", "venues"],
}
"""A primary topic names each product and fills most of its description; one other topic adds some."""
ROLES = {
    "agent": ["Agent", "Concierge", "Copilot", "Coordinator", "Bot"],
    "app": ["Connector", "Sync", "Toolkit", "Bridge", "Console"],
    "assistant": ["Writer", "Designer", "Narrator", "Editor", "Studio"],
    "automation": ["Autopilot", "Workflow", "Scheduler", "Pipeline", "Dispatcher"],
}
VERBS = [
    "answers",
    "drafts",
    "summarises",
    "routes",
    "tracks",
    "reconciles",
    "schedules",
    "translates",
    "classifies",
    "monitors",
    "extracts",
    "reviews",
    "publishes",
    "forecasts",
    "escalates",
]
PLACES = [
    "Slack",
    "Microsoft Teams",
    "email",
    "your CRM",
    "Google Sheets",
    "Notion",
    "Zendesk",
    "HubSpot",
    "Salesforce",
    "Jira",
    "WhatsApp",
    "your website",
]
TAGS = ["sales", "marketing", "support", "hr", "finance", "ops", "dev", "general"]
STARTER_PRICES = ["0", "9", "19", "29", "39", "49", "79", "99", "149", "199"]

SEARCHES = [
    ("invoice", "automation", "0", "100"),
    ("support", "agent", "0", "50"),
    ("supp tick", "agent", "10", "200"),
    ("newsletter", "assistant", "0", "100"),
    ("sales lead", "agent", "0", "150"),
    ("payroll", "automation", "0", "200"),
    ("recruit", "agent", "0", "100"),
    ("meeting", "assistant", "0", "80"),
    ("contract review", "app", "0", "200"),
    ("analytics dashboards", "app", "20", "300"),
    ("onboard", "agent", "0", "99"),
    ("translat", "assistant", "0", "150"),
    ("slack", "app", "0", "100"),
    ("expense", "automation", "5", "120"),
    ("security alerts", "automation", "0", "300"),
    ("ship", "automation", "0", "100"),
    ("podcast", "assistant", "0", "60"),
    ("inventory", "app", "0", "100"),
    ("knowledge faq", "agent", "0", "200"),
    ("forecast", "app", "0", "250"),
]
"""(q, category, min_price, max_price): what buyers type, prefixes included, always with a category and a
price range (the benchmark's filtered search)."""


def generate(count: int, tenants: list[str]) -> Iterator[dict[str, Any]]:
    rng = random.Random(SEED)
    plan_ids = random.Random(SEED + 1)
    categories = list(CATEGORIES)
    topics = list(TOPICS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        category = rng.choice(categories)
        subcategory = rng.choice(CATEGORIES[category])
        topic, other = rng.sample(topics, 2)
        name = f"{rng.choice(ADJECTIVES)} {topic} {rng.choice(ROLES[category])}"
        things = partial(_mention, rng)
        short = (
            f"{rng.choice(VERBS).capitalize()} {things(topic)} and {things(topic)} in {rng.choice(PLACES)}."
        )
        sentences = [
            f"{name} {rng.choice(VERBS)} {things(topic)} for {topic.lower()} teams.",
            *(
                f"It {rng.choice(VERBS)} {things(topic)} from {rng.choice(PLACES)} and {rng.choice(VERBS)}"
                f" {things(topic)}."
                for _ in range(rng.randint(2, 5))
            ),
            f"It also {rng.choice(VERBS)} {things(other)} when {topic.lower()} work touches them.",
            "Set up takes minutes; no code needed.",
        ]
        starter = rng.choice(STARTER_PRICES)
        plans = [
            _plan(plan_ids, "Starter", "starter", starter),
            _plan(plan_ids, "Pro", "pro", str(int(starter) * 3 + 29)),
        ]
        if rng.random() < 0.3:
            plans.append(_plan(plan_ids, "Enterprise", "enterprise", None))
        if rng.random() < 0.05:
            plans = [_plan(plan_ids, "Enterprise", "enterprise", None)]
        prices = [to_minor(p["priceMonthly"], "USD") for p in plans if p["priceMonthly"] is not None]
        rated = rng.random() < 0.7
        yield {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "tenant_id": tenants[n % len(tenants)],
            "slug": f"{'-'.join(name.lower().split())}-{n}",
            "name": name,
            "short": short[:150],
            "full": "## Overview\n\n" + " ".join(sentences),
            "category": category,
            "subcategory": subcategory,
            "tags": sorted({topic.lower(), *rng.sample(TAGS, rng.randint(1, 3))}),
            "plans": plans,
            "min_price": min(prices) if prices else None,
            "runtimes": sorted({p["runtimeType"] for p in plans}),
            "featured": rng.random() < 0.02,
            "rating": Decimal(f"{rng.uniform(2.5, 5.0):.2f}") if rated else Decimal(0),
            "rating_count": rng.randint(1, 900) if rated else 0,
            "subscribers": int(rng.paretovariate(1.2) * 10),
            "published_at": start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60)),
        }


def _mention(rng: random.Random, topic: str) -> str:
    return rng.choice(TOPICS[topic])


def _plan(plan_ids: random.Random, name: str, tier: str, monthly: str | None) -> dict[str, Any]:
    """A stored plan; its id comes from its own random stream, so the listings are the same as before
    plans had ids."""
    defaults = plan_defaults(tier)
    return {
        "id": new_plan_id(uuid.UUID(int=plan_ids.getrandbits(128))),
        "name": name,
        "tier": tier,
        "priceMonthly": monthly,
        "priceYearly": None,
        "currency": "USD",
        "limits": defaults["limits"],
        "runtimeType": defaults["runtimeType"],
        "features": [],
    }


def _copy_text(value: Any) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):
        return "{" + ",".join(value) + "}"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def load(owner_url: str, count: int) -> None:
    """Sellers, products (approved) and their listings, written with COPY as the owner."""
    rng = random.Random(SEED)
    tenants = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(200)]
    capabilities = {}
    for category, subcategories in CATEGORIES.items():
        for sub in subcategories:
            checked = validate_capabilities({"category": category, "subcategory": {category: sub}})
            assert checked.capabilities is not None
            capabilities[(category, sub)] = json.dumps(checked.capabilities.to_document())
    products, listings = io.StringIO(), io.StringIO()
    for row in generate(count, tenants):
        caps = capabilities[(row["category"], row["subcategory"])]
        products.write(
            "\t".join(
                _copy_text(v)
                for v in (
                    row["id"],
                    row["tenant_id"],
                    row["category"],
                    row["subcategory"],
                    json.dumps(row["tags"]),
                    caps,
                    row["name"],
                    row["slug"],
                    row["short"],
                    row["full"],
                    "approved",
                    "1.0.0",
                    row["published_at"],
                )
            )
            + "\n"
        )
        listings.write(
            "\t".join(
                _copy_text(v)
                for v in (
                    row["id"],
                    row["tenant_id"],
                    "1.0.0",
                    row["slug"],
                    row["name"],
                    row["short"],
                    row["full"],
                    row["category"],
                    row["subcategory"],
                    row["tags"],
                    f"Seller {row['tenant_id'][:8]}",
                    None,
                    "[]",
                    caps,
                    json.dumps(row["plans"]),
                    row["min_price"],
                    "USD",
                    row["runtimes"],
                    row["featured"],
                    row["rating"],
                    row["rating_count"],
                    row["subscribers"],
                    row["published_at"],
                )
            )
            + "\n"
        )
    with psycopg.connect(owner_url, autocommit=True) as conn:
        with conn.cursor() as cur:
            with cur.copy("copy tenants (id, name, slug) from stdin") as copy:
                for n, tenant in enumerate(tenants):
                    copy.write_row((tenant, f"Seller {tenant[:8]}", f"seller-{n}"))
            with cur.copy(
                "copy products (id, tenant_id, category, subcategory, tags, capabilities, name, slug,"
                " short_description, full_description, status, live_version, published_at)"
                " from stdin"
            ) as copy:
                copy.write(products.getvalue())
            with cur.copy(
                "copy marketplace_listings (product_id, tenant_id, version, slug, name,"
                " short_description, full_description, category, subcategory, tags, seller_name,"
                " logo_key, screenshot_keys, capabilities, plans, min_price_minor, currency, runtime_types,"
                " featured, rating_avg, rating_count, subscriber_count, published_at)"
                " from stdin"
            ) as copy:
                copy.write(listings.getvalue())
        conn.execute("vacuum analyze")


def timed(runs: int, call: Callable[[int], object]) -> list[float]:
    """Milliseconds of each call; call(i) picks its own input."""
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(label: str, samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return (
        f"{label:<44} runs={len(samples):<5} p50={cuts[49]:6.2f} ms  p99={cuts[98]:6.2f} ms"
        f"  max={max(samples):6.2f} ms"
    )


def count_matches(service: MarketplaceService, params: dict[str, str]) -> int:
    """How many listings a search matches, by walking its pages."""
    total, cursor = 0, ""
    while True:
        page = service.search(search_from_query({**params, "limit": "50", "cursor": cursor}))
        total += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total


def explain(app_url: str, search: ProductSearch) -> str:
    query, params = build_search_sql(search)
    with psycopg.connect(app_url) as conn:
        rows = conn.execute("explain (analyze, buffers) " + query, params).fetchall()
    return "\n".join(row[0] for row in rows)


def plan_summary(plan: str) -> str:
    used = sorted(
        set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:using|on) (\w+)", plan))
    )
    scans = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
    execution = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return (
        f"indexes used: {', '.join(used) or 'none'}; sequential scans: {', '.join(scans) or 'none'};"
        f" execution {execution.group(1) if execution else '?'} ms"
    )


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        model = models[0] if models else model
    return f"{os.cpu_count()} cores ({model}), {platform.system()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()

    with bench_database(DATABASE, REPO) as owner_url:
        migrate(owner_url)
        started = time.perf_counter()
        load(owner_url, args.products)
        loaded = time.perf_counter() - started
        app_url = app_role_url(owner_url)
        with psycopg.connect(app_url) as conn:
            version = conn.execute("show server_version").fetchone()
        database = Database(app_url)
        service = MarketplaceService(database, asset_url=lambda key: f"https://assets.example/{key}")

        def params(i: int, **extra: str) -> dict[str, str]:
            q, category, low, high = SEARCHES[i % len(SEARCHES)]
            return {
                "q": q,
                "category": category,
                "min_price": low,
                "max_price": high,
                "sort": "relevance",
                **extra,
            }

        def filtered(i: int, **extra: str) -> ProductSearch:
            return search_from_query(params(i, **extra))

        hits = [count_matches(service, params(i)) for i in range(len(SEARCHES))]
        third_page_cursors = {}
        for i in range(len(SEARCHES)):
            second = service.search(filtered(i, cursor=service.search(filtered(i))["next_cursor"] or ""))
            if second["next_cursor"]:
                third_page_cursors[i] = second["next_cursor"]
        deep = list(third_page_cursors)

        timed(100, lambda i: service.search(filtered(i)))
        page1 = timed(args.runs, lambda i: service.search(filtered(i)))
        page3 = timed(
            args.runs,
            lambda i: service.search(
                filtered(deep[i % len(deep)], cursor=third_page_cursors[deep[i % len(deep)]])
            ),
        )
        per_search = [statistics.median(page1[i :: len(SEARCHES)]) for i in range(len(SEARCHES))]
        browse = timed(
            args.runs,
            lambda i: service.search(
                search_from_query({"category": list(CATEGORIES)[i % 4], "sort": "newest"})
            ),
        )
        by_rating = timed(
            args.runs,
            lambda i: service.search(search_from_query({"sort": ("rating", "popular")[i % 2]})),
        )
        by_price = timed(
            args.runs,
            lambda i: service.search(search_from_query({"sort": ("price_asc", "price_desc")[i % 2]})),
        )
        price_only = timed(
            args.runs,
            lambda i: service.search(
                search_from_query({"category": list(CATEGORIES)[i % 4], "min_price": "10", "max_price": "60"})
            ),
        )
        broad = timed(args.runs, lambda i: service.search(search_from_query({"q": "se"})))
        categories = timed(args.runs, lambda i: service.categories())
        featured = timed(args.runs, lambda i: service.featured(12))
        database.close()

        print(f"machine: {machine()}; PostgreSQL {version[0] if version else '?'}")
        print(
            f"data: {args.products:,} listings loaded + VACUUM ANALYZE in {loaded:.1f} s; the {len(SEARCHES)}"
            f" filtered searches match {min(hits)}..{max(hits)} listings (median {statistics.median(hits):.0f});"
            f" {len(deep)} reach a third page"
        )
        print(summary("search q+category+price, relevance, page 1", page1))
        print(summary("search q+category+price, relevance, page 3", page3))
        print(summary("browse a category, newest, page 1", browse))
        print(summary("browse all, by rating / popularity, page 1", by_rating))
        print(summary("browse all, by price up / down, page 1", by_price))
        print(summary("browse a category, price 10..60, newest", price_only))
        print(summary("broad two-letter prefix q=se, relevance", broad))
        print(summary("categories (grouped counts)", categories))
        print(summary("featured (12)", featured))
        print("\nper search (page 1 median, matches):")
        for (q, category, low, high), took, matched in zip(SEARCHES, per_search, hits, strict=True):
            print(f"  {q!r:24} {category:<11} {low:>2}..{high:<4} {took:6.2f} ms  {matched:5} matches")
        first_plan = explain(app_url, filtered(0))
        third_plan = explain(app_url, filtered(deep[0], cursor=third_page_cursors[deep[0]]))
        print(f"\nplan, page 1 of {SEARCHES[0]}: {plan_summary(first_plan)}")
        print(f"plan, page 3 of {SEARCHES[deep[0]]}: {plan_summary(third_plan)}")
        print("\nEXPLAIN (ANALYZE, BUFFERS), page 1:\n" + first_plan)


if __name__ == "__main__":
    main()
