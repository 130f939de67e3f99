"""A running crawl asks every `CHECK_EVERY` pages whether its source is still wanted and stops when it is
not (its source was deleted), without fetching the rest of the site."""

from __future__ import annotations

from typing import Any

from cmp.knowledge.crawler import CHECK_EVERY, Crawler
from cmp.net.safe_http import FetchResult

SITE = "https://help.example.com"


class ChainSite:
    """A site of 50 pages, each linking to the next; counts what is fetched."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def get(self, url: str, accept: Any = ()) -> FetchResult:
        self.fetched.append(url)
        if url.endswith("/robots.txt"):
            return FetchResult(url, 200, "text/plain", b"", {})
        n = int(url.rsplit("/", 1)[1] or 0)
        body = f'<p>page {n}</p><a href="/{n + 1}">next</a>'.encode()
        return FetchResult(url, 200, "text/html", body, {})


def test_a_crawl_stops_once_its_source_is_no_longer_wanted() -> None:
    site = ChainSite()
    answers = iter([True, False])
    asked: list[int] = []

    def still_wanted() -> bool:
        asked.append(len(site.fetched))
        return next(answers)

    pages = Crawler(site).crawl(f"{SITE}/0", 100, 50, still_wanted)  # type: ignore[arg-type]
    assert len(pages) == 2 * CHECK_EVERY
    assert len(asked) == 2 and len(site.fetched) == 1 + 2 * CHECK_EVERY


def test_a_wanted_crawl_runs_to_its_page_limit() -> None:
    site = ChainSite()
    pages = Crawler(site).crawl(f"{SITE}/0", 100, 25, lambda: True)  # type: ignore[arg-type]
    assert [p.url for p in pages] == [f"{SITE}/{n}" for n in range(25)]
