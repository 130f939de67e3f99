"""The SSRF-safe fetcher against a real local HTTP server: loopback is refused unless explicitly
allowed, every redirect hop is re-checked (a redirect to the metadata address is refused), a name that
resolves to an internal address is refused, the checked address is the one connected to (DNS pinned,
Host kept), the content type is checked and the size capped."""

from __future__ import annotations

import pytest

from cmp.net.safe_http import FetchRefused, ResponseTooLarge, SafeFetcher, is_public
from tests.site_server import serve

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_loopback_is_refused_by_default_and_fetched_when_explicitly_allowed() -> None:
    with serve() as site:
        site.html("/", "<p>hello</p>")
        with pytest.raises(FetchRefused, match="non-public address"):
            SafeFetcher().get(site.base + "/")
        result = SafeFetcher(allowed_hosts=["127.0.0.1"]).get(site.base + "/")
        assert result.body == b"<p>hello</p>" and result.content_type == "text/html"


def test_every_redirect_hop_is_checked_again() -> None:
    with serve() as site:
        site.pages["/go"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
        with pytest.raises(FetchRefused, match=r"169\.254\.169\.254"):
            SafeFetcher(allowed_hosts=["127.0.0.1"]).get(site.base + "/go")
        site.pages["/loop"] = (302, {"Location": "/loop"}, b"")
        with pytest.raises(FetchRefused, match="redirects"):
            SafeFetcher(allowed_hosts=["127.0.0.1"], max_redirects=3).get(site.base + "/loop")


def test_a_name_with_any_internal_answer_is_refused_and_the_checked_answer_is_pinned() -> None:
    with serve() as site:
        site.html("/", "<p>pinned</p>")
        port = site.server.server_address[1]
        mixed = SafeFetcher(resolver=lambda host, p: ["93.184.215.14", "127.0.0.1"])
        with pytest.raises(FetchRefused, match=r"127\.0\.0\.1"):
            mixed.get(f"http://docs.example.test:{port}/")
        answers = iter([["127.0.0.1"], ["10.9.9.9"]])  # a second lookup would rebind; it never happens
        pinned = SafeFetcher(allowed_hosts=["docs.example.test"], resolver=lambda host, p: next(answers))
        assert pinned.get(f"http://docs.example.test:{port}/").body == b"<p>pinned</p>"
        assert site.requests[-1] == ("/", f"docs.example.test:{port}")


def test_scheme_content_type_and_size_are_checked() -> None:
    with serve() as site:
        site.pages["/file.zip"] = (200, {"Content-Type": "application/zip"}, b"PK")
        site.html("/big", "x" * 5000)
        fetcher = SafeFetcher(allowed_hosts=["127.0.0.1"], max_bytes=1000)
        with pytest.raises(FetchRefused, match="application/zip"):
            fetcher.get(site.base + "/file.zip")
        with pytest.raises(ResponseTooLarge):
            fetcher.get(site.base + "/big")
        with pytest.raises(FetchRefused, match="only http"):
            fetcher.get("file:///etc/passwd")
        with pytest.raises(FetchRefused, match="answered 404"):
            fetcher.get(site.base + "/nothing")
