"""The seller journey through the provider, admin and capabilities functions, on real PostgreSQL + moto:
the wizard, assets, automated review (real SQS batches), approval, versions, and tenant isolation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services

from .conftest import Platform, api_event, caller_of

LOGO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FULL_DESCRIPTION = "# Support agent\n\nAnswers questions from your documents with citations, day and night."


def call(
    platform: Platform,
    function: str,
    method: str,
    path: str,
    who: dict[str, str] | None,
    body: Any = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    response = platform.invoke(function, api_event(method, path, body, who, **kwargs))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def provider(
    platform: Platform, method: str, path: str, who: dict[str, str] | None, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    return call(platform, "ProviderApiFunction", method, f"/v1/provider/products{path}", who, body, **kwargs)


def admin_api(
    platform: Platform, method: str, path: str, who: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    return call(platform, "AdminApiFunction", method, f"/v1/admin{path}", who, body)


def new_draft(platform: Platform, who: dict[str, str], category: str, subcategory: str) -> str:
    status, product = provider(platform, "POST", "", who, {"category": category, "subcategory": subcategory})
    assert status == 201, product
    return str(product["id"])


def upload_logo(platform: Platform, who: dict[str, str], product_id: str) -> None:
    status, upload = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        who,
        {"kind": "logo", "content_type": "image/png", "size_bytes": len(LOGO)},
    )
    assert status == 201, upload
    fields = upload["upload"]["fields"]
    client("s3").put_object(
        Bucket=platform.ref("AssetsBucket"), Key=fields["key"], Body=LOGO, ContentType="image/png"
    )
    status, body = provider(platform, "POST", f"/{product_id}/assets/{upload['asset_id']}/complete", who)
    assert status == 200, body


def ready_product(platform: Platform, who: dict[str, str], slug: str, logo: bool = True) -> str:
    """A product with every wizard step done (template route), ready to submit."""
    product_id = new_draft(platform, who, "agent", "single")
    assert (
        provider(platform, "POST", f"/{product_id}/template", who, {"template": "customer_support"})[0] == 200
    )
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/capabilities",
        who,
        {"interfaces": {"chat": {"enabled": True, "modes": ["text", "voice"]}}},
    )
    assert status == 200, body
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/plans",
        who,
        {
            "plans": [
                {"name": "Starter", "tier": "starter", "priceMonthly": "29", "priceYearly": "290"},
                {"name": "Pro", "tier": "pro", "priceMonthly": "99"},
            ]
        },
    )
    assert status == 200, body
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/listing",
        who,
        {
            "name": f"Support Agent {slug}",
            "slug": slug,
            "short_description": "Answers customers 24/7.",
            "full_description": FULL_DESCRIPTION,
            "tags": ["support", "rag"],
        },
    )
    assert status == 200, body
    if logo:
        upload_logo(platform, who, product_id)
    return str(product_id)


def review(platform: Platform) -> None:
    assert platform.drain("ReviewQueue", "ReviewWorkerFunction") >= 1


def test_a_seller_publishes_a_product_through_review(
    platform: Platform, services: Services, owner_conn: Any
) -> None:
    seller, admin = caller_of(services, "Seller"), caller_of(services, admin=True)
    product_id = ready_product(platform, seller, "publish-flow")
    status, listed = provider(platform, "GET", "", seller)
    assert status == 200 and listed["items"][0]["wizard"] == {
        "completed": ["category", "source", "capabilities", "plans", "listing"],
        "next": None,
    }
    status, submitted = provider(platform, "POST", f"/{product_id}/submit", seller)
    assert status == 202 and submitted["status"] == "pending_review"
    assert (
        provider(
            platform, "PUT", f"/{product_id}/listing", seller, {"name": "Changed", "short_description": "x"}
        )[0]
        == 409
    )
    review(platform)
    status, queue = admin_api(platform, "GET", "/reviews", admin)
    entry = next(e for e in queue["items"] if e["product_id"] == product_id)
    assert entry["review_status"] == "checks_passed"
    status, approved = admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    assert status == 200 and approved["version"] == "1.0.0"
    listing = owner_conn.execute(
        "select version, name, min_price_minor, currency, seller_name, plans from marketplace_listings"
        " where product_id = %s",
        (product_id,),
    ).fetchone()
    assert listing[0] == "1.0.0" and listing[1] == "Support Agent publish-flow"
    assert (listing[2], listing[3]) == (2900, "USD")
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["status"] == "approved" and product["live_version"] == "1.0.0"
    plan_ids = [plan["id"] for plan in product["plans"]]
    assert all(plan_id.startswith("plan_") for plan_id in plan_ids)
    assert [plan["id"] for plan in listing[5]] == plan_ids  # the live listing names the same plans
    frozen = owner_conn.execute(
        "select plans from product_versions where product_id = %s and version = '1.0.0'", (product_id,)
    ).fetchone()[0]
    assert [plan["id"] for plan in frozen] == plan_ids


def test_editing_a_published_product_creates_a_new_version_and_keeps_the_live_one(
    platform: Platform, services: Services, owner_conn: Any
) -> None:
    seller, admin = caller_of(services, "Seller"), caller_of(services, admin=True)
    product_id = ready_product(platform, seller, "versioned")
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    status, edited = provider(
        platform,
        "PUT",
        f"/{product_id}/plans",
        seller,
        {"plans": [{"name": "Starter", "tier": "starter", "priceMonthly": "39"}]},
    )
    assert status == 200
    assert (
        edited["status"] == "draft"
        and edited["live_version"] == "1.0.0"
        and edited["has_unpublished_changes"]
    )
    live_price = owner_conn.execute(
        "select min_price_minor from marketplace_listings where product_id = %s", (product_id,)
    ).fetchone()[0]
    assert live_price == 2900
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    status, approved = admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    assert approved["version"] == "1.1.0"
    status, versions = provider(platform, "GET", f"/{product_id}/versions", seller)
    assert [v["version"] for v in versions["items"]] == ["1.1.0", "1.0.0"]
    assert versions["items"][1]["plans"][0]["priceMonthly"] == "29.00"
    live = owner_conn.execute(
        "select version, min_price_minor from marketplace_listings where product_id = %s", (product_id,)
    ).fetchone()
    assert live[0] == "1.1.0" and live[1] == 3900


def test_automated_checks_reject_with_reasons(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Seller")
    product_id = ready_product(platform, seller, "no-logo", logo=False)
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert status == 200 and product["status"] == "rejected"
    assert any("a logo is required" in reason for reason in product["review_reasons"])
    assert product["reviews"][0]["status"] == "checks_failed"


def test_the_review_queue_pages_and_refuses_unknown_or_invalid_query_parameters(
    platform: Platform, services: Services
) -> None:
    seller, admin = caller_of(services, "Queued"), caller_of(services, admin=True)
    for slug in ("queue-one", "queue-two"):
        product_id = ready_product(platform, seller, slug)
        assert provider(platform, "POST", f"/{product_id}/submit", seller)[0] == 202

    def queue(query: dict[str, str]) -> tuple[int, Any]:
        return call(platform, "AdminApiFunction", "GET", "/v1/admin/reviews", admin, query=query)

    seen: list[str] = []
    status, page = queue({"limit": "1"})
    while True:
        assert status == 200 and len(page["items"]) <= 1
        seen.extend(item["product_id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        status, page = queue({"limit": "1", "cursor": page["next_cursor"]})
    assert len(seen) == len(set(seen)) >= 2
    assert seen == [item["product_id"] for item in queue({"limit": "200"})[1]["items"]]

    for query, path in (
        ({"limit": "abc"}, "query.limit"),
        ({"limit": "201"}, "query.limit"),
        ({"cursor": "bogus"}, "query.cursor"),
        ({"status": "bogus"}, "query.status"),
    ):
        status, body = queue(query)
        assert status == 422 and [e["path"] for e in body["errors"]] == [path], (query, body)

    event = api_event("GET", "/v1/admin/reviews", caller=admin, query={"limit": "2"})
    event["multiValueQueryStringParameters"] = {"limit": ["1", "2"]}
    body = json.loads(platform.invoke("AdminApiFunction", event)["body"])
    assert body["errors"] == [{"path": "query.limit", "message": "was given 2 times; give it once"}]


def test_admin_decisions_need_the_admin_role_passed_checks_and_reasons(
    platform: Platform, services: Services
) -> None:
    seller, admin = caller_of(services, "Seller"), caller_of(services, admin=True)
    product_id = ready_product(platform, seller, "decisions")
    provider(platform, "POST", f"/{product_id}/submit", seller)
    assert admin_api(platform, "POST", f"/products/{product_id}/approve", seller)[0] == 403
    status, body = admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    assert status == 409 and "queued" in body["message"]
    status, body = admin_api(platform, "POST", f"/products/{product_id}/reject", admin, {"reasons": []})
    assert status == 422 and body["errors"][0]["path"] == "reasons"
    status, body = admin_api(
        platform,
        "POST",
        f"/products/{product_id}/reject",
        admin,
        {"reasons": ["Screenshots show another product"]},
    )
    assert status == 200 and body["status"] == "rejected"
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["review_reasons"] == ["Screenshots show another product"]


PROVIDER_ROUTES = [
    ("GET", ""),
    ("DELETE", ""),
    ("PUT", "/category"),
    ("POST", "/import"),
    ("POST", "/template"),
    ("PUT", "/capabilities"),
    ("PUT", "/plans"),
    ("PUT", "/listing"),
    ("POST", "/assets"),
    ("POST", "/assets/00000000-0000-4000-8000-000000000000/complete"),
    ("DELETE", "/assets/00000000-0000-4000-8000-000000000000"),
    ("POST", "/submit"),
    ("POST", "/archive"),
    ("GET", "/versions"),
]
BODIES = {
    "/category": {"category": "agent", "subcategory": "multi"},
    "/import": {"content": "{}"},
    "/template": {"template": "blank"},
    "/capabilities": {},
    "/plans": {"plans": []},
    "/listing": {"name": "Stolen", "short_description": "x"},
    "/assets": {"kind": "logo", "content_type": "image/png", "size_bytes": 10},
}


def test_another_tenant_can_neither_see_nor_change_a_product(platform: Platform, services: Services) -> None:
    owner, intruder = caller_of(services, "Owner"), caller_of(services, "Intruder")
    product_id = ready_product(platform, owner, "isolated", logo=False)
    assert provider(platform, "GET", "", intruder)[1]["items"] == []
    for method, suffix in PROVIDER_ROUTES:
        status, body = provider(platform, method, f"/{product_id}{suffix}", intruder, BODIES.get(suffix))
        assert status == 404, (method, suffix, status, body)
    status, product = provider(platform, "GET", f"/{product_id}", owner)
    assert product["listing"]["name"] == "Support Agent isolated" and product["status"] == "draft"


def test_buyers_and_anonymous_callers_cannot_use_the_provider_api(
    platform: Platform, services: Services
) -> None:
    buyer = caller_of(services, "Buyer", account_type="buyer")
    assert provider(platform, "GET", "", buyer)[0] == 403
    assert provider(platform, "POST", "", buyer, {"category": "agent", "subcategory": "single"})[0] == 403
    assert provider(platform, "GET", "", None)[0] == 401


def test_bad_wizard_input_gets_field_errors(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Seller")
    status, body = provider(platform, "POST", "", seller, {"category": "robot", "subcategory": "single"})
    assert status == 422 and body["errors"][0]["path"] == "category"
    status, body = provider(platform, "POST", "", seller, {"category": "app", "subcategory": "writer"})
    assert status == 422 and body["errors"][0]["path"] == "subcategory"
    product_id = new_draft(platform, seller, "agent", "single")
    status, body = provider(platform, "PUT", f"/{product_id}/plans", seller, {"plans": []})
    assert status == 409 and "step 3" in body["message"]
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/capabilities",
        seller,
        {
            "interfaces": {"chat": {"enabled": True, "modes": ["telepathy"]}},
            "configuration": {"rag": {"retrieval": {"topK": 500}}},
            "colour": "blue",
        },
    )
    assert status == 422
    paths = {e["path"] for e in body["errors"]}
    assert {"interfaces.chat.modes[0]", "configuration.rag.retrieval.topK", "colour"} <= paths
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/listing",
        seller,
        {
            "name": "ok name",
            "short_description": "x" * 151,
            "demo_url": "javascript:alert(1)",
            "tags": ["Bad Tag"],
        },
    )
    assert status == 422
    assert {e["path"] for e in body["errors"]} == {"short_description", "demo_url", "tags[0]"}
    status, body = provider(
        platform, "POST", f"/{product_id}/template", seller, {"template": "sales_assistant"}
    )
    assert status == 422 and "assistant" in body["errors"][0]["message"]
    status, body = provider(platform, "PUT", f"/{product_id}/capabilities", seller, raw_body="[1, 2")
    assert 400 <= status < 500
    status, body = provider(platform, "GET", "/not-a-uuid", seller)
    assert status == 422 and body["errors"][0]["path"] == "product_id"
    status, body = provider(platform, "POST", f"/{product_id}/assets/not-a-uuid/complete", seller)
    assert status == 422 and body["errors"][0]["path"] == "asset_id"
    status, body = provider(platform, "POST", f"/{product_id}/no/such/route", seller)
    assert status == 404 and body["error"] == "not_found"


def test_slugs_are_unique_across_the_marketplace(platform: Platform, services: Services) -> None:
    first, second = caller_of(services, "First"), caller_of(services, "Second")
    ready_product(platform, first, "taken-slug", logo=False)
    product_id = new_draft(platform, second, "agent", "single")
    status, body = provider(
        platform,
        "PUT",
        f"/{product_id}/listing",
        second,
        {"name": "Mine", "slug": "taken-slug", "short_description": "Mine too."},
    )
    assert status == 409 and body["errors"] == [{"path": "slug", "message": "'taken-slug' is already in use"}]


def test_asset_uploads_are_checked_before_and_after_upload(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Seller")
    product_id = new_draft(platform, seller, "agent", "single")
    status, body = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        seller,
        {"kind": "logo", "content_type": "application/pdf", "size_bytes": 10},
    )
    assert status == 422 and body["errors"][0]["path"] == "content_type"
    status, body = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        seller,
        {"kind": "screenshot", "content_type": "image/png", "size_bytes": 50 * 1024 * 1024},
    )
    assert status == 422 and body["errors"][0]["path"] == "size_bytes"
    assert "the largest screenshot allowed" in body["errors"][0]["message"]
    status, body = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        seller,
        {"kind": "logo", "content_type": "image/png", "size_bytes": 50 * 1024 * 1024},
    )
    assert status == 422 and body["errors"] == [
        {
            "path": "size_bytes",
            "message": "must be between 1 and 1048576 bytes (1 MiB, the largest logo allowed; got 52428800)",
        }
    ]
    status, upload = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        seller,
        {"kind": "logo", "content_type": "image/png", "size_bytes": 100},
    )
    assert upload["upload"]["fields"]["Content-Type"] == "image/png"
    complete = f"/{product_id}/assets/{upload['asset_id']}/complete"
    assert provider(platform, "POST", complete, seller)[0] == 409
    client("s3").put_object(
        Bucket=platform.ref("AssetsBucket"),
        Key=upload["upload"]["fields"]["key"],
        Body=b"%PDF",
        ContentType="application/pdf",
    )
    status, body = provider(platform, "POST", complete, seller)
    assert status == 422 and body["errors"][0]["path"] == "content_type"


def test_importing_a_real_flow_proposes_capabilities(
    platform: Platform, services: Services, shared_dir: Path
) -> None:
    seller = caller_of(services, "Seller")
    product_id = new_draft(platform, seller, "app", "connector")
    petstore = (shared_dir / "fixtures/imports/openapi/swagger-petstore-3.0.yaml").read_text()
    status, body = provider(
        platform, "POST", f"/{product_id}/import", seller, {"content": petstore, "filename": "petstore.yaml"}
    )
    assert status == 200, body
    assert body["import"]["format"] == "openapi" and body["proposed_capabilities_applied"] is True
    assert body["product"]["capabilities"]["interfaces"]["api"]["enabled"] is True
    assert body["product"]["flow"]["format"] == "openapi"
    deep = {"openapi": "3.1.0", "paths": {}}
    node: dict[str, Any] = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    status, body = provider(platform, "POST", f"/{product_id}/import", seller, {"document": deep})
    assert status == 422
    status, body = provider(
        platform, "POST", f"/{product_id}/import", seller, {"content": "a" * (6 * 1024 * 1024)}
    )
    assert status == 413


def test_capability_validation_endpoint_lists_every_error(platform: Platform) -> None:
    status, body = call(
        platform,
        "CapabilitiesApiFunction",
        "POST",
        "/v1/capabilities/validate",
        None,
        {"category": "agent", "subcategory": {"app": "tool"}, "tags": ["nope"]},
    )
    assert status == 422 and body["valid"] is False and len(body["errors"]) >= 2
    status, body = call(
        platform,
        "CapabilitiesApiFunction",
        "POST",
        "/v1/capabilities/validate",
        None,
        {"category": "automation", "subcategory": {"automation": "scheduled"}},
    )
    assert status == 200 and body["capabilities"]["configuration"]["workflowAdvanced"]["enabled"] is True
    status, schema = call(platform, "CapabilitiesApiFunction", "GET", "/v1/capabilities/schema", None)
    assert status == 200 and "properties" in json.dumps(schema)


@pytest.mark.parametrize("bad", [[1, 2], "text", None, 7])
def test_capability_validation_never_500s_on_junk(platform: Platform, bad: Any) -> None:
    status, body = call(platform, "CapabilitiesApiFunction", "POST", "/v1/capabilities/validate", None, bad)
    assert status == 422 and body["valid"] is False and body["errors"]


def test_only_platform_admins_reach_the_admin_api(platform: Platform, services: Services) -> None:
    seller, buyer = caller_of(services, "Seller"), caller_of(services, "Buyer", account_type="buyer")
    product_id = ready_product(platform, seller, "admin-guarded")
    provider(platform, "POST", f"/{product_id}/submit", seller)
    routes = [
        ("GET", "/reviews", None),
        ("POST", f"/products/{product_id}/approve", None),
        ("POST", f"/products/{product_id}/reject", {"reasons": ["no"]}),
        ("PUT", f"/products/{product_id}/featured", {"featured": True}),
    ]
    for who in (seller, buyer):
        for method, path, body in routes:
            status, _ = admin_api(platform, method, path, who, body)
            assert status == 403, (who["roles"], method, path, status)
    for method, path, body in routes:
        assert admin_api_anonymous(platform, method, path, body) == 401
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["status"] == "pending_review"


def admin_api_anonymous(platform: Platform, method: str, path: str, body: Any) -> int:
    return int(
        platform.invoke("AdminApiFunction", api_event(method, f"/v1/admin{path}", body, None))["statusCode"]
    )


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'


def store_upload(
    platform: Platform, who: dict[str, str], product_id: str, data: bytes, content_type: str
) -> str:
    """Announce a logo and put `data` in S3 under the announced type; the `complete` path."""
    status, upload = provider(
        platform,
        "POST",
        f"/{product_id}/assets",
        who,
        {"kind": "logo", "content_type": content_type, "size_bytes": len(data)},
    )
    assert status == 201, upload
    client("s3").put_object(
        Bucket=platform.ref("AssetsBucket"),
        Key=upload["upload"]["fields"]["key"],
        Body=data,
        ContentType=content_type,
    )
    return f"/{product_id}/assets/{upload['asset_id']}/complete"


def test_uploads_are_checked_by_their_bytes_at_complete_and_in_the_review_job(
    platform: Platform, services: Services
) -> None:
    seller = caller_of(services, "Seller")
    product_id = ready_product(platform, seller, "sniffed", logo=False)

    status, body = provider(
        platform, "POST", store_upload(platform, seller, product_id, HTML, "image/png"), seller
    )
    assert status == 422 and [e["path"] for e in body["errors"]] == ["content_type"]
    assert "by its content the file is not an image" in body["errors"][0]["message"]
    status, body = provider(
        platform, "POST", store_upload(platform, seller, product_id, SVG_WITH_SCRIPT, "image/svg+xml"), seller
    )
    assert status == 422 and body["errors"] == [
        {"path": "file", "message": "<script> elements are not allowed"}
    ]

    upload_logo(platform, seller, product_id)
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    [logo] = [a for a in product["assets"] if a["status"] == "ready"]
    key = f"products/{seller['tenant_id']}/{product_id}/logo/{logo['id']}.png"
    client("s3").put_object(Bucket=platform.ref("AssetsBucket"), Key=key, Body=HTML, ContentType="image/png")
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert product["status"] == "rejected" and product["review_status"] == "checks_failed"
    assert any("by its content the file is not an image" in reason for reason in product["review_reasons"])


def test_archived_products_are_restored_and_delete_says_why_it_refuses(
    platform: Platform, services: Services
) -> None:
    seller, admin = caller_of(services, "Seller"), caller_of(services, admin=True)
    product_id = ready_product(platform, seller, "restorable")
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    assert provider(platform, "POST", f"/{product_id}/restore", seller)[0] == 409
    assert provider(platform, "POST", f"/{product_id}/archive", seller)[1]["status"] == "archived"

    status, refused = provider(platform, "DELETE", f"/{product_id}", seller)
    assert status == 409 and "already archived" in refused["message"] and "restore" in refused["message"]
    status, restored = provider(platform, "POST", f"/{product_id}/restore", seller)
    assert status == 200 and restored["status"] == "draft" and restored["live_version"] == "1.0.0"
    provider(platform, "POST", f"/{product_id}/submit", seller)
    review(platform)
    status, approved = admin_api(platform, "POST", f"/products/{product_id}/approve", admin)
    assert status == 200 and approved["version"] == "1.0.1"


def test_plans_are_capped_and_the_product_list_pages(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Seller")
    ids = [new_draft(platform, seller, "agent", "single") for _ in range(3)]
    provider(platform, "PUT", f"/{ids[0]}/capabilities", seller, {})
    many = [{"name": f"Plan {i}", "tier": "starter", "priceMonthly": "9"} for i in range(11)]
    status, body = provider(platform, "PUT", f"/{ids[0]}/plans", seller, {"plans": many})
    assert status == 422 and body["errors"] == [{"path": "plans", "message": "at most 10 plans (got 11)"}]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = provider(platform, "GET", "", seller, query=query)
        assert status == 200 and len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    assert seen.index(ids[0]) < seen.index(ids[2])  # ids[0] was changed last
    status, body = provider(platform, "GET", "", seller, query={"limit": "201", "cursor": "junk"})
    assert status == 422 and [e["path"] for e in body["errors"]] == ["query.limit", "query.cursor"]


def test_slugs_are_transliterated_and_never_read_as_ids(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Seller")
    product_id = new_draft(platform, seller, "agent", "single")
    listing = {"short_description": "Coffee, answered."}

    status, body = provider(
        platform, "PUT", f"/{product_id}/listing", seller, {**listing, "name": "Café Crème Déjà Vu"}
    )
    assert status == 200 and body["listing"]["slug"] == "cafe-creme-deja-vu"
    status, body = provider(platform, "PUT", f"/{product_id}/listing", seller, {**listing, "name": "☕☕☕"})
    assert status == 422 and [e["path"] for e in body["errors"]] == ["name"]
    assert "give a slug" in body["errors"][0]["message"]
    status, body = provider(
        platform, "PUT", f"/{product_id}/listing", seller, {**listing, "name": "Coffee", "slug": "0" * 32}
    )
    assert status == 422 and [e["path"] for e in body["errors"]] == ["slug"]
