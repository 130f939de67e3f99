"""Websites in a knowledge base, crawled from a real local HTTP server through the worker: same site,
depth and page limits, robots.txt, HTML only; a re-crawl re-indexes changed pages and removes vanished
ones; the refresh schedule queues due sources; the loopback site is fetched only because the test allows
its host explicitly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.knowledge.crawler import Crawler, WebsiteCrawls
from cmp.net.safe_http import SafeFetcher
from tests.site_server import serve
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, caller_of
from .test_knowledge_api import API, KNOWLEDGE, WORKER, call, caller, drain, kb

pytestmark = pytest.mark.integration


@pytest.fixture
def crawling(loaded: Platform) -> Platform:
    """The worker's crawler may fetch 127.0.0.1 (the test site): an explicit allow-list, as in `make run`."""
    services = loaded.function(WORKER).services
    services.website_crawls = WebsiteCrawls(
        services.unit_of_work,
        services.objects,
        lambda: services.settings.knowledge_bucket,
        lambda: services.settings.ingestion_queue_url,
        lambda: Crawler(SafeFetcher(["127.0.0.1"])),
        services.clock,
        services.ids,
    )
    return loaded


@pytest.fixture
def loaded(platform: Platform) -> Platform:
    from cmp.knowledge.embeddings import HashEmbedder

    for name in (API, WORKER):
        platform.function(name).services.embedder = HashEmbedder()
    return platform


def _pages(owner_conn: psycopg.Connection[Any], source_id: str) -> dict[str, tuple[str, int]]:
    rows = owner_conn.execute(
        "select d.url, d.status, (select count(*) from knowledge_chunks c where c.document_id = d.id)"
        " from knowledge_documents d where d.url_source_id = %s",
        (source_id,),
    ).fetchall()
    return {url: (status, chunks) for url, status, chunks in rows}


def test_a_site_is_crawled_within_its_limits_and_kept_in_step(
    crawling: Platform, db: Database, services: Services, owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(services, "Site Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    with serve() as site:
        site.pages["/robots.txt"] = (
            200,
            {"Content-Type": "text/plain"},
            b"User-agent: *\nDisallow: /private\n",
        )
        site.html(
            "/",
            '<title>Help</title><a href="/a">A</a> <a href="/b#top">B</a> <a href="/private">P</a>'
            ' <a href="http://example.com/">out</a> <a href="/file.pdf">pdf</a><p>Welcome to the help centre.</p>',
        )
        site.html("/a", '<h1>Returns</h1><p>Returns are accepted within thirty days.</p><a href="/c">C</a>')
        site.html("/b", "<h1>Shipping</h1><p>We ship in five days.</p>")
        site.html("/c", "<p>Too deep.</p>")
        site.html("/private", "<p>Secret.</p>")
        site.pages["/file.pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")
        status, source = call(
            crawling,
            "POST",
            f"{kb(subscription.id)}/urls",
            who,
            {"url": site.base + "/", "max_depth": 1, "max_pages": 10, "refresh_interval": "daily"},
        )
        assert status == 201, source
        drain(crawling)
        pages = _pages(owner_conn, source["url_source_id"])
        assert set(pages) == {site.base + "/", site.base + "/a", site.base + "/b"}
        assert all(status == "indexed" and chunks > 0 for status, chunks in pages.values())
        assert "/private" not in [path for path, _ in site.requests]
        row = owner_conn.execute(
            "select status, pages_found, next_refresh_at > now() + interval '23 hours'"
            " from knowledge_url_sources where id = %s",
            (source["url_source_id"],),
        ).fetchone()
        assert row == ("indexed", 3, True)

        # The site changes: /a is rewritten, /b disappears. A re-crawl (here: the schedule) follows.
        site.html("/a", "<h1>Returns</h1><p>Returns are now accepted within sixty days.</p>")
        del site.pages["/b"]
        site.html("/", '<title>Help</title><a href="/a">A</a><p>Welcome to the help centre.</p>')
        owner_conn.execute(
            "update knowledge_url_sources set next_refresh_at = now() - interval '1 minute' where id = %s",
            (source["url_source_id"],),
        )
        refresh = crawling.function("KnowledgeRefreshFunction").services.website_crawls
        assert refresh.refresh_due(datetime.now(UTC)) >= 1
        drain(crawling)
        pages = _pages(owner_conn, source["url_source_id"])
        assert set(pages) == {site.base + "/", site.base + "/a"}
        content = owner_conn.execute(
            "select string_agg(c.content, ' ') from knowledge_chunks c join knowledge_documents d"
            " on d.id = c.document_id where d.url = %s",
            (site.base + "/a",),
        ).fetchone()[0]
        assert "sixty days" in content and "thirty" not in content


def test_a_site_on_a_private_address_is_refused_without_the_allow_list(
    loaded: Platform, db: Database, services: Services, owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(services, "Ssrf Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    with serve() as site:
        site.html("/", "<p>internal</p>")
        status, source = call(
            loaded,
            "POST",
            f"{kb(subscription.id)}/urls",
            caller(subscription),
            {"url": site.base + "/", "max_depth": 0},
        )
        assert status == 201
        drain(loaded)
        assert site.requests == []
    row = owner_conn.execute(
        "select status, error from knowledge_url_sources where id = %s", (uuid.UUID(source["url_source_id"]),)
    ).fetchone()
    assert row[0] == "failed" and "non-public address" in row[1]
    assert (
        call(
            loaded,
            "POST",
            f"{kb(subscription.id)}/urls",
            caller(subscription),
            {"url": site.base + "/", "max_depth": 0},
        )[0]
        == 409
    )
    status, body = call(
        loaded,
        "POST",
        f"{kb(subscription.id)}/urls",
        caller(subscription),
        {"url": "ftp://example.com/", "max_depth": 0},
    )
    assert status == 422 and body["errors"][0]["path"] == "url"
