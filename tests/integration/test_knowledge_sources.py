"""Knowledge sources a buyer can see and manage, through the real handlers, PostgreSQL and moto: website
sources listed, read, changed within the plan and deleted with their pages (a crawl of a deleted source
stores nothing), the plan's number of websites, a re-posted URL pointing to PATCH, another organization
404 everywhere; upload forms never used stop counting against the plan once expired (a clock in the past
issues them) and the hourly housekeeping removes them (or queues one whose file did land)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database
from cmp.knowledge.crawler import Crawler, Page
from cmp.knowledge.model import UPLOAD_WINDOW
from tests.fakes import FixedClock
from tests.site_server import serve
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, caller_of
from .test_housekeeping import HOUSEKEEPING_EVENT
from .test_knowledge_api import API, KNOWLEDGE, call, caller, drain, kb, upload
from .test_knowledge_websites import crawling, loaded  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def _limited(**limits: int) -> dict[str, Any]:
    configuration = copy.deepcopy(KNOWLEDGE)
    configuration["rag"]["limits"] = limits
    return configuration


def _held(owner_conn: psycopg.Connection[Any], source_id: str) -> tuple[int, int]:
    """(documents, chunks) of a website source's pages."""
    row = owner_conn.execute(
        "select count(distinct d.id), count(c.id) from knowledge_documents d"
        " left join knowledge_chunks c on c.document_id = d.id where d.url_source_id = %s",
        (source_id,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_website_sources_are_listed_changed_and_deleted_with_their_pages(
    crawling: Platform,  # noqa: F811
    db: Database,
    services: Services,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer = caller_of(services, "Sources Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    urls = f"{kb(subscription.id)}/urls"
    with serve() as site:
        site.html("/", '<h1>Help</h1><p>Welcome to the help centre.</p><a href="/a">A</a>')
        site.html("/a", "<h1>Returns</h1><p>Returns are accepted within thirty days.</p>")
        status, source = call(crawling, "POST", urls, who, {"url": site.base + "/", "max_depth": 1})
        assert status == 201, source
        drain(crawling)
        status, listed = call(crawling, "GET", urls, who)
        assert status == 200
        [item] = listed["items"]
        assert item["url_source_id"] == source["url_source_id"]
        assert (item["status"], item["pages_found"], item["error"]) == ("indexed", 2, None)
        assert item["last_crawled_at"] is not None and item["refresh_interval"] == "never"
        one = f"{urls}/{source['url_source_id']}"
        assert call(crawling, "GET", one, who) == (200, item)

        status, body = call(
            crawling, "POST", urls, who, {"url": site.base + "/", "refresh_interval": "daily"}
        )
        assert status == 409
        assert f"PATCH {one}" in body["message"] and body["errors"][0]["path"] == "url"

        status, body = call(crawling, "PATCH", one, who, {"max_depth": 3})
        assert status == 422 and body["errors"] == [
            {"path": "max_depth", "message": "at most 1 for this plan"}
        ]
        status, changed = call(crawling, "PATCH", one, who, {"refresh_interval": "weekly", "max_pages": 7})
        assert status == 200, changed
        crawled_at = datetime.fromisoformat(item["last_crawled_at"])
        assert (changed["refresh_interval"], changed["max_pages"], changed["max_depth"]) == ("weekly", 7, 1)
        assert datetime.fromisoformat(changed["next_refresh_at"]) == crawled_at + timedelta(weeks=1)
        assert call(crawling, "GET", one, who)[1] == changed

        keys = [
            row[0]
            for row in owner_conn.execute(
                "select object_key from knowledge_documents where url_source_id = %s",
                (source["url_source_id"],),
            )
        ]
        assert len(keys) == 2 and _held(owner_conn, source["url_source_id"])[1] > 0
        status, _ = call(crawling, "DELETE", one, who)
        assert status == 204
    assert _held(owner_conn, source["url_source_id"]) == (0, 0)
    bucket = crawling.ref("KnowledgeBucket")
    for key in keys:
        assert "Contents" not in client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    assert call(crawling, "GET", one, who)[0] == 404
    assert call(crawling, "GET", urls, who)[1] == {"items": []}


def test_a_crawl_of_a_source_deleted_while_it_runs_stops_and_stores_nothing(
    crawling: Platform,  # noqa: F811
    db: Database,
    services: Services,
    owner_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyer = caller_of(services, "Deleting Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    who = caller(subscription)
    status, source = call(
        crawling, "POST", f"{kb(subscription.id)}/urls", who, {"url": "https://help.example.com/"}
    )
    assert status == 201
    asked: list[bool] = []

    def crawl(self: Crawler, start: str, depth: int, pages: int, still_wanted: Any) -> list[Page]:
        assert (
            call(crawling, "DELETE", f"{kb(subscription.id)}/urls/{source['url_source_id']}", who)[0] == 204
        )
        asked.append(still_wanted())
        return [Page(start, b"<p>Fetched before the delete.</p>", 0)]

    monkeypatch.setattr(Crawler, "crawl", crawl)
    drain(crawling)
    assert asked == [False]
    assert _held(owner_conn, source["url_source_id"]) == (0, 0)


def test_the_plan_caps_the_number_of_websites(
    loaded: Platform,  # noqa: F811
    db: Database,
    services: Services,
) -> None:
    buyer = caller_of(services, "Capped Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=_limited(maxUrls=2)))
    who = caller(subscription)
    urls = f"{kb(subscription.id)}/urls"
    for n in (1, 2):
        assert call(loaded, "POST", urls, who, {"url": f"https://site{n}.example.com/"})[0] == 201
    status, body = call(loaded, "POST", urls, who, {"url": "https://site3.example.com/"})
    assert status == 422 and body["errors"][0]["path"] == "url"
    assert "plan's 2 websites" in body["errors"][0]["message"]
    assert call(loaded, "POST", urls, who, {"url": "https://site1.example.com/"})[0] == 409
    first = call(loaded, "GET", urls, who)[1]["items"][0]["url_source_id"]
    assert call(loaded, "DELETE", f"{urls}/{first}", who)[0] == 204
    assert call(loaded, "POST", urls, who, {"url": "https://site3.example.com/"})[0] == 201


def test_website_routes_need_the_scope_and_are_404_for_another_organization(
    loaded: Platform,  # noqa: F811
    db: Database,
    services: Services,
) -> None:
    buyer = caller_of(services, "Owning Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=KNOWLEDGE))
    urls = f"{kb(subscription.id)}/urls"
    source = call(loaded, "POST", urls, caller(subscription), {"url": "https://own.example.com/"})[1]
    one = f"{urls}/{source['url_source_id']}"
    reader = caller(subscription, ("knowledge:read",), key=True)
    assert call(loaded, "GET", urls, reader)[0] == 200
    assert call(loaded, "GET", one, reader)[0] == 200
    for method, body in (("PATCH", {"max_pages": 3}), ("DELETE", None)):
        status, refused = call(loaded, method, one, reader, body)
        assert status == 403 and "knowledge:write" in refused["message"]
    stranger = caller_of(services, "Stranger Buyer", "buyer")
    other_subscription = subscribe(db, stranger["tenant_id"], capabilities(configuration=KNOWLEDGE))
    other = caller(other_subscription)
    for method, path, body in [
        ("GET", urls, None),
        ("GET", one, None),
        ("PATCH", one, {"refresh_interval": "daily"}),
        ("DELETE", one, None),
    ]:
        assert call(loaded, method, path, other, body)[0] == 404, (method, path)
    theirs = f"{kb(other_subscription.id)}/urls/{source['url_source_id']}"
    assert call(loaded, "GET", theirs, other)[0] == 404
    assert call(loaded, "DELETE", theirs, other)[0] == 404
    assert call(loaded, "GET", one, caller(subscription))[1]["refresh_interval"] == "never"


def test_upload_forms_never_used_stop_counting_and_are_removed_by_housekeeping(
    loaded: Platform,  # noqa: F811
    db: Database,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyer = caller_of(services, "Forgetful Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(configuration=_limited(maxDocuments=2)))
    who = caller(subscription)
    documents = f"{kb(subscription.id)}/documents"
    knowledge = loaded.function(API).services.knowledge
    real_clock = knowledge._clock

    def form(name: str, size: int = 1000) -> tuple[int, Any]:
        return call(
            loaded,
            "POST",
            documents,
            who,
            {"filename": name, "content_type": "text/plain", "size_bytes": size},
        )

    # Two forms issued just over the window ago: one never used, one whose file landed late.
    monkeypatch.setattr(
        knowledge, "_clock", FixedClock(datetime.now(UTC) - UPLOAD_WINDOW - timedelta(minutes=1))
    )
    status, forgotten = form("forgotten.txt")
    assert status == 201
    status, late = form("late.txt", 22)
    assert status == 201
    monkeypatch.setattr(knowledge, "_clock", real_clock)

    # The plan holds 2 documents: the expired forms hold nothing, two fresh ones fill it.
    status, fresh = form("fresh.txt", 19)
    assert status == 201
    status, second = form("second.txt")
    assert status == 201
    status, refused = form("third.txt")
    assert status == 422 and "plan's 2 documents" in refused["errors"][0]["message"]
    stats = call(loaded, "GET", kb(subscription.id), who)[1]
    assert (stats["documents"], stats["documents_by_status"], stats["uploads_awaiting"]) == (
        2,
        {"pending": 2},
        2,
    )
    assert (stats["size_bytes"], stats["storage_used_percent"]) == (0, 0.0)

    upload(loaded, fresh, b"Returns in 30 days.")
    upload(loaded, late, b"Shipping takes 5 days.")
    report = loaded.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)
    assert report["knowledge_uploads_expired"] >= 1 and report["knowledge_uploads_requeued"] >= 1
    assert call(loaded, "GET", f"{documents}/{forgotten['document_id']}", who)[0] == 404
    drain(loaded)
    assert call(loaded, "GET", f"{documents}/{late['document_id']}", who)[1]["status"] == "indexed"
    stats = call(loaded, "GET", kb(subscription.id), who)[1]
    assert stats["documents_by_status"] == {"indexed": 2, "pending": 1} and stats["uploads_awaiting"] == 1
    assert stats["size_bytes"] == len(b"Returns in 30 days.") + len(b"Shipping takes 5 days.")
    loaded.invoke("HousekeepingFunction", HOUSEKEEPING_EVENT)
    assert call(loaded, "GET", f"{documents}/{second['document_id']}", who)[1]["status"] == "pending"
