"""`make run`'s banner tells the truth about the demo products: after one was archived, a restart says
how many the marketplace really shows and which it does not, instead of repeating "4 published"."""

from __future__ import annotations

import re
import shutil
import signal

import httpx

from cmp_dev.seed import SELLER

from .conftest import REPO, CmpDevProcess

BANNER_DIR = REPO / ".local" / "e2e-banner"


class Dev(CmpDevProcess):
    """`cmp dev` on BANNER_DIR, with the API URL its banner printed."""

    def __init__(self) -> None:
        super().__init__(BANNER_DIR)
        found = re.search(r"^API: (\S+)$", self.output, re.M)
        assert found, self.output
        self.api = found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.wait() == 0, self.output


def _archive_as_demo_seller(api_url: str, slug: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as api:
        login = api.post("/v1/auth/login", json={"email": SELLER.email, "password": SELLER.password})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        products = api.get("/v1/provider/products", headers=headers).json()["items"]
        product_id = next(p["id"] for p in products if p["slug"] == slug)
        archived = api.post(f"/v1/provider/products/{product_id}/archive", headers=headers)
        assert archived.status_code == 200, archived.text
        assert api.get(f"/v1/marketplace/products/{slug}").status_code == 404


def test_the_banner_counts_what_the_marketplace_really_shows_after_a_restart() -> None:
    shutil.rmtree(BANNER_DIR, ignore_errors=True)
    first = Dev()
    try:
        assert "Demo products: 4 published in the marketplace\n" in first.output
        _archive_as_demo_seller(first.api, "acme-faq-bot")
    finally:
        first.stop()
    second = Dev()
    try:
        banner = second.output
        assert "Demo products: 4 published" not in banner
        assert (
            "Demo products: 3 of 4 published in the marketplace; not published: acme-faq-bot (archived).\n"
            "  Seeding leaves the demo products it finds as they are; for fresh demo data, stop CMP and"
            f" delete {BANNER_DIR} (all local data)\n"
        ) in banner
        with httpx.Client(base_url=second.api, timeout=30) as api:
            listed = api.get("/v1/marketplace/products", params={"limit": 50}).json()["items"]
        assert sorted(item["slug"] for item in listed) == [
            "acme-blog-writer",
            "acme-crm-sync",
            "acme-support-agent",
        ]
    finally:
        second.stop()
