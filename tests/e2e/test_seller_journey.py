"""The seller journey over HTTP through the local runner: the wizard, a real presigned S3 upload to moto,
submission, the review job run by the runner's SQS poller, admin approval, and discovery."""

from __future__ import annotations

from typing import Any

import httpx

from cmp_dev.local.dev import Stack
from cmp_dev.seed import ADMIN, LOGO_PNG, seed

from .conftest import Account, eventually, sign_up


def _admin(api: httpx.Client) -> Account:
    token = api.post("/v1/auth/login", json={"email": ADMIN.email, "password": ADMIN.password}).json()
    return Account(api, token["access_token"])


def test_publish_and_discover_over_http(api: httpx.Client, stack: Stack, seeded: dict[str, object]) -> None:
    seller = sign_up(api, "Journey Labs", "seller")
    created = seller.post("/v1/provider/products", json={"category": "agent", "subcategory": "single"})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    base = f"/v1/provider/products/{product_id}"
    assert seller.post(f"{base}/template", json={"template": "customer_support"}).status_code == 200
    assert seller.put(f"{base}/capabilities", json={}).status_code == 200
    assert (
        seller.put(
            f"{base}/plans", json={"plans": [{"name": "Starter", "tier": "starter", "priceMonthly": "25"}]}
        ).status_code
        == 200
    )
    listing = seller.put(
        f"{base}/listing",
        json={
            "name": "Journey Concierge",
            "short_description": "A concierge that knows your handbook.",
            "full_description": "# Journey Concierge\n\nAnswers staff questions from the handbook, with citations.",
            "tags": ["support", "hr"],
        },
    )
    assert listing.status_code == 200 and listing.json()["slug"] == "journey-concierge"

    upload = seller.post(
        f"{base}/assets", json={"kind": "logo", "content_type": "image/png", "size_bytes": len(LOGO_PNG)}
    ).json()
    # S3 refuses a larger file by the POST policy; moto does not enforce policies, so completion checks too.
    httpx.post(
        upload["upload"]["url"],
        data=upload["upload"]["fields"],
        files={"file": ("logo.png", LOGO_PNG * 3, "image/png")},
    )
    refused = seller.post(f"{base}/assets/{upload['asset_id']}/complete")
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "size_bytes"
    # A refused upload leaves nothing behind: its asset is gone, and a new announcement starts again.
    assert seller.post(f"{base}/assets/{upload['asset_id']}/complete").status_code == 404
    upload = seller.post(
        f"{base}/assets", json={"kind": "logo", "content_type": "image/png", "size_bytes": len(LOGO_PNG)}
    ).json()
    stored = httpx.post(
        upload["upload"]["url"],
        data=upload["upload"]["fields"],
        files={"file": ("logo.png", LOGO_PNG, "image/png")},
    )
    assert stored.status_code in (200, 201, 204), stored.text
    assert seller.post(f"{base}/assets/{upload['asset_id']}/complete").status_code == 200

    assert seller.post(f"{base}/submit").status_code == 202
    checked = eventually(lambda: seller.get(base).json()["reviews"][0]["status"] == "checks_passed")
    assert checked
    admin = _admin(api)
    approved = admin.post(f"/v1/admin/products/{product_id}/approve")
    assert approved.status_code == 200 and approved.json()["version"] == "1.0.0"

    found = api.get("/v1/marketplace/products", params={"q": "concierg", "category": "agent"}).json()
    assert [item["slug"] for item in found["items"]] == ["journey-concierge"]
    details = api.get("/v1/marketplace/products/journey-concierge")
    assert details.status_code == 200 and details.json()["name"] == "Journey Concierge"

    stranger = sign_up(api, "Stranger Co")
    assert stranger.get(base).status_code == 404
    assert (
        stranger.put(f"{base}/listing", json={"name": "Mine now", "short_description": "x"}).status_code
        == 404
    )
    buyer = sign_up(api, "Shopper Co", "buyer")
    assert buyer.get(base).status_code == 403


def test_drafts_never_reach_the_marketplace(api: httpx.Client) -> None:
    seller = sign_up(api, "Draft Labs", "seller")
    product_id = seller.post("/v1/provider/products", json={"category": "app", "subcategory": "tool"}).json()[
        "id"
    ]
    seller.put(
        f"/v1/provider/products/{product_id}/listing",
        json={"name": "Secret Draft Tool", "short_description": "Not ready yet."},
    )
    assert api.get("/v1/marketplace/products", params={"q": "secret draft"}).json()["items"] == []
    assert api.get("/v1/marketplace/products/secret-draft-tool").status_code == 404


def test_seeding_is_idempotent_and_publishes_the_demo_products(
    stack_services: Any, seeded: dict[str, Any], api: httpx.Client
) -> None:
    again = seed(stack_services)
    assert again["products"] == seeded["products"]
    slugs = {
        item["slug"] for item in api.get("/v1/marketplace/products", params={"limit": 50}).json()["items"]
    }
    assert set(seeded["products"]) <= slugs  # type: ignore[arg-type]


N8N_CHAT_AGENT = {
    "name": "Helpdesk agent",
    "nodes": [
        {"id": "1", "name": "Chat", "type": "@n8n/n8n-nodes-langchain.chatTrigger", "position": [0, 0]},
        {"id": "2", "name": "AI Agent", "type": "@n8n/n8n-nodes-langchain.agent", "position": [220, 0]},
    ],
    "connections": {"Chat": {"main": [[{"node": "AI Agent", "type": "main", "index": 0}]]}},
}
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="2" height="2"/></svg>'


def _upload(seller: Account, base: str, data: bytes, content_type: str) -> httpx.Response:
    """Announce a logo, send `data` through the presigned POST form as a browser would, and complete it."""
    ticket = seller.post(
        f"{base}/assets", json={"kind": "logo", "content_type": content_type, "size_bytes": len(data)}
    ).json()
    stored = httpx.post(
        ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("logo", data, content_type)}
    )
    assert stored.status_code in (200, 201, 204), stored.text
    return seller.post(f"{base}/assets/{ticket['asset_id']}/complete")


def test_the_wizard_keeps_the_import_and_checks_uploads_by_their_bytes(api: httpx.Client) -> None:
    seller = sign_up(api, "Keeper Labs", "seller")
    product_id = seller.post(
        "/v1/provider/products", json={"category": "agent", "subcategory": "single"}
    ).json()["id"]
    base = f"/v1/provider/products/{product_id}"
    imported = seller.post(
        f"{base}/import", json={"document": N8N_CHAT_AGENT, "filename": "flow.json"}
    ).json()
    assert imported["proposed_capabilities_applied"] is True
    assert imported["product"]["wizard"]["next"] == "plans"
    kept = seller.put(f"{base}/capabilities", json={}).json()
    assert kept["capabilities"] == imported["product"]["capabilities"]
    plans = seller.put(
        f"{base}/plans",
        json={
            "plans": [
                {"name": "Starter", "tier": "starter", "priceMonthly": "9"},
                {"name": "Ent", "tier": "enterprise"},
            ]
        },
    )
    assert plans.status_code == 200, plans.text
    assert [p["runtimeType"] for p in plans.json()["plans"]] == ["shared", "shared"]
    listed = seller.put(
        f"{base}/listing",
        json={
            "name": "Kéeper Çoncierge",
            "short_description": "Keeps what you gave it.",
            "full_description": "# Keeper\n\nA concierge that keeps the flow you imported, step after step.",
        },
    )
    assert listed.status_code == 200 and listed.json()["listing"]["slug"] == "keeper-concierge"

    html = _upload(seller, base, HTML, "image/png")
    assert html.status_code == 422 and html.json()["errors"][0]["path"] == "content_type"
    svg = _upload(seller, base, SVG.replace(b"<rect", b'<rect onclick="alert(1)"'), "image/svg+xml")
    assert svg.status_code == 422 and [e["path"] for e in svg.json()["errors"]] == ["file"]
    assert _upload(seller, base, SVG, "image/svg+xml").status_code == 200

    assert seller.post(f"{base}/submit").status_code == 202
    assert eventually(lambda: seller.get(base).json()["review_status"] == "checks_passed")
