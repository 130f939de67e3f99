"""The chat widget in a real headless Chromium (Debian's `chromium`, driven by Playwright's Python client; no
browser is downloaded): embedded with the demo buyer's widget token on a page of an allowed origin it
renders the configured launcher, welcome message and suggested prompts, talks to the agent over the
WebSocket API (token frames, then the answer) and shows the answer's citations; with a WebSocket URL nothing
answers it falls back to the REST route and still answers; on a page of another origin the platform refuses the token and the widget says so.

Two local ports serve the two pages (two origins); screenshots are kept under .local/artifacts/widget/
(gitignored) as the test's artifacts.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmp_dev.local.stack import free_port
from cmp_dev.seed import BUYER
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".local" / "artifacts" / "widget"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WELCOME = "Hi! I am the Globex helper. Ask me about returns."
PROMPTS = ["What is the return policy?", "¿Cuál es la política de devoluciones?"]
POLICY = "Unused items can be returned within 30 days of delivery for a full refund."


def _page(snippet: str) -> str:
    return f"<!doctype html><html><head><title>Globex shop</title></head><body><h1>Globex shop</h1>{snippet}</body></html>"


@pytest.fixture
def two_origins(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """Two static servers on two local ports (two origins) over one folder; yields their base URLs."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (*(f"http://127.0.0.1:{s.server_address[1]}" for s in servers), tmp_path)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _buyer(api: httpx.Client) -> dict[str, str]:
    login = api.post("/v1/auth/login", json={"email": BUYER.email, "password": BUYER.password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_the_widget_chats_on_an_allowed_origin_and_is_refused_on_another(
    api: httpx.Client, seeded: dict[str, Any], two_origins: tuple[str, str, Path], browser: Any
) -> None:
    allowed, other, folder = two_origins
    auth = _buyer(api)
    subscription = seeded["subscriptions"]["acme-support-agent"]
    one = f"/v1/subscriptions/{subscription}"
    stored = api.put(
        f"{one}/configuration/conversation",
        headers=auth,
        json={"welcomeMessage": WELCOME, "suggestedPrompts": PROMPTS},
    )
    assert stored.status_code == 200, stored.text
    qa = api.post(
        f"{one}/knowledge/qa",
        headers=auth,
        json={"pairs": [{"question": "What is the return policy?", "answer": POLICY}]},
    )
    assert qa.status_code == 201, qa.text
    document = qa.json()["items"][0]["document_id"]

    def indexed() -> bool:  # a status read is a gateway call like any other: 429 means "not yet, slower"
        answer = api.get(f"{one}/knowledge/documents/{document}", headers=auth)
        return answer.status_code == 200 and answer.json()["status"] == "indexed"

    eventually(indexed, timeout=120, interval=2)
    token = api.post(
        f"{one}/widget/tokens", headers=auth, json={"name": "Browser test", "allowed_origins": [allowed]}
    )
    assert token.status_code == 201, token.text
    embed = api.get(f"{one}/widget/embed", params={"token_id": token.json()["id"]}, headers=auth)
    assert embed.status_code == 200, embed.text
    snippet = embed.json()["html"]
    assert "/v1/widget/chat.js" in snippet
    assert re.search(r'data-websocket="ws://127\.0\.0\.1:\d+/ws"', snippet), "the runner's WebSocket URL"
    (folder / "index.html").write_text(_page(snippet), encoding="utf-8")

    # the same page with a WebSocket URL nothing answers: the widget falls back to the REST route
    unreachable = re.sub(r'data-websocket="[^"]*"', 'data-websocket="ws://127.0.0.1:9/ws"', snippet)
    (folder / "rest.html").write_text(_page(unreachable), encoding="utf-8")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)

    page = browser.new_page(viewport={"width": 1000, "height": 700})
    sockets: list[str] = []
    frames: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        sockets.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", watch)
    page.goto(f"{allowed}/index.html")
    launcher = page.locator("[data-cmp-chat] .launcher")
    launcher.wait_for(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "1-allowed-closed.png"))
    launcher.click()
    assert page.locator("[data-cmp-chat] .welcome").inner_text() == WELCOME
    chips = page.locator("[data-cmp-chat] .prompts button")
    assert chips.all_inner_texts() == PROMPTS
    chips.first.click()
    answer = page.locator("[data-cmp-chat] .answer")
    answer.wait_for(timeout=60_000)
    assert POLICY in answer.inner_text()
    citations = page.locator("[data-cmp-chat] .citation")
    assert citations.count() >= 1
    assert "30 days" in citations.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "2-allowed-answer.png"))
    # streamed over the WebSocket API: token frames, then the answer the widget shows
    assert len(sockets) == 1 and "/ws?subscription_id=" in sockets[0], sockets
    assert [f["type"] for f in frames][-1] == "done" and frames[0]["type"] == "token", frames
    assert POLICY in frames[-1]["answer"]
    page.close()

    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(f"{allowed}/rest.html")
    page.locator("[data-cmp-chat] .launcher").click()
    page.locator("[data-cmp-chat] .prompts button").first.click()
    answer = page.locator("[data-cmp-chat] .answer")
    answer.wait_for(timeout=60_000)
    assert POLICY in answer.inner_text()
    page.screenshot(path=str(ARTIFACTS / "2b-rest-fallback-answer.png"))
    page.close()

    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(f"{other}/index.html")
    notice = page.locator("[data-cmp-chat] .notice")
    notice.wait_for(state="attached", timeout=20_000)
    assert "not available on this website" in notice.inner_text()
    assert other in notice.inner_text()
    assert page.locator("[data-cmp-chat] input").is_disabled()
    page.locator("[data-cmp-chat] .launcher").click()
    page.screenshot(path=str(ARTIFACTS / "3-other-origin-refused.png"))
    page.close()
