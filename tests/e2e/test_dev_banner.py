"""`make run`'s banner tells the truth about the demo products: after one was archived, a restart says
how many the marketplace really shows and which it does not, instead of repeating "5 published". Its
TechCorp example call, asked in Spanish, gets a cited Spanish answer, over REST and over the printed
WebSocket example; its warranty call is answered from the product's seller-provided knowledge (cited with
`origin: "product"`), and the seller's printed test of that knowledge answers it too; a restart indexes
nothing twice and
prints a new demo key (the previous one is revoked). Every URL it prints is at the API's address, the Data
Sync sink's too, which answers as printed."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess

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


def _ask_techcorp(banner: str, nth: int = 0) -> tuple[str, httpx.Response]:
    """Send the banner's `nth` TechCorp chat call as printed; returns its API key and the response."""
    found = list(re.finditer(
        r"curl -s -X POST (\S+/chat) \\\n\s+-H 'Authorization: Bearer (\S+)' .*\\\n\s+-d '(\{.*\})'", banner
    ))  # fmt: skip
    assert len(found) > nth, banner
    url, key, body = found[nth].groups()
    return key, httpx.post(url, headers={"Authorization": f"Bearer {key}"}, json=json.loads(body), timeout=60)


def _seller_test(banner: str, api_url: str) -> httpx.Response:
    """Send the banner's seller test of the product's knowledge as printed, with the demo seller's token."""
    found = re.search(
        r"curl -s -X POST (\S+/knowledge/test) -H \"Authorization: Bearer \$TOKEN\" \\\n.* -d '(\{.*\})'",
        banner,
    )
    assert found, banner
    url, body = found.groups()
    login = httpx.post(
        f"{api_url}/v1/auth/login", json={"email": SELLER.email, "password": SELLER.password}, timeout=30
    )
    token = login.json()["access_token"]
    return httpx.post(url, headers={"Authorization": f"Bearer {token}"}, json=json.loads(body), timeout=60)


def _stream_techcorp(banner: str) -> str:
    """Run the banner's WebSocket example as printed (from `.venv/bin/python` to `EOF`); its output."""
    found = re.search(r"^(\.venv/bin/python - <<'EOF'\n.*?^EOF)$", banner, re.M | re.S)
    assert found, banner
    ran = subprocess.run(
        ["bash", "-c", found.group(1)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


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
        assert "Demo products: 5 published in the marketplace\n" in first.output
        # Every URL at the API's address, the Data Sync sink's too, and that one answers as printed.
        assert "localhost" not in first.output, first.output
        sink = re.search(r"^  curl -s (\S+/demo/slack)$", first.output, re.M)
        assert sink and sink.group(1) == f"{first.api}/demo/slack", first.output
        assert "messages" in httpx.get(sink.group(1), timeout=30).json()
        assert "4 of 4 knowledge documents indexed" in first.output, first.output
        first_key, asked = _ask_techcorp(first.output)
        assert asked.status_code == 200, asked.text
        answer = asked.json()
        assert answer["language"] == "es" and answer["grounded"], answer
        assert "15 días" in answer["answer"], answer
        assert answer["citations"][0]["title"].startswith("Política de devoluciones"), answer["citations"]
        assert re.search(r"^WebSocket: ws://\S+/ws\?", first.output, re.M), first.output
        streamed = _stream_techcorp(first.output)
        assert "15 días" in streamed and "done Política de devoluciones" in streamed, streamed
        assert "and 2 of 2 of the seller's" in first.output, first.output
        _, warranty = _ask_techcorp(first.output, 1)
        assert warranty.status_code == 200, warranty.text
        answer = warranty.json()
        assert answer["language"] == "es" and "un año" in answer["answer"], answer
        assert answer["citations"][0]["origin"] == "product", answer["citations"]
        assert answer["citations"][0]["title"] == "Garantía de TechCorp", answer["citations"]
        tested = _seller_test(first.output, first.api)
        assert tested.status_code == 200, tested.text
        assert "one year" in tested.json()["answer"], tested.json()
        assert {c["origin"] for c in tested.json()["citations"]} == {"product"}, tested.json()
        _archive_as_demo_seller(first.api, "acme-faq-bot")
    finally:
        first.stop()
    second = Dev()
    try:
        banner = second.output
        assert "Demo products: 5 published" not in banner
        assert "4 of 4 knowledge documents indexed" in banner, banner
        second_key, asked = _ask_techcorp(banner)
        assert second_key != first_key and asked.status_code == 200, asked.text
        revoked = httpx.post(
            asked.url, headers={"Authorization": f"Bearer {first_key}"}, json={"message": "hola"}
        )
        assert revoked.status_code == 401, revoked.text
        assert (
            "Demo products: 4 of 5 published in the marketplace; not published: acme-faq-bot (archived).\n"
            "  Seeding leaves the demo products it finds as they are; for fresh demo data, stop CMP and"
            f" delete {BANNER_DIR} (all local data)\n"
        ) in banner
        with httpx.Client(base_url=second.api, timeout=30) as api:
            listed = api.get("/v1/marketplace/products", params={"limit": 50}).json()["items"]
        assert sorted(item["slug"] for item in listed) == [
            "acme-blog-writer",
            "acme-crm-sync",
            "acme-support-agent",
            "techcorp-support-agent",
        ]
    finally:
        second.stop()
