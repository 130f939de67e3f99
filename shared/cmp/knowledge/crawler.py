"""Websites in a knowledge base: crawling a site (`Crawler`) and keeping its pages in step
(`WebsiteCrawls`), on demand and on the refresh schedule.

The crawler walks breadth-first from the source URL: the same site only (scheme, host and port of the
start URL), at most `max_depth` links away and `max_pages` pages, every URL allowed by the site's
robots.txt (`protego`, for our user agent; a missing robots.txt allows all), each fetched through
`cmp.net.safe_http.SafeFetcher` (public addresses only, redirects re-checked, HTML only, size capped).

A crawl then compares with what the base holds: a new page becomes a document (`source_type` 'url'), a
page whose bytes changed is re-queued, an unchanged page is left alone, and a page no longer found is
deleted with its chunks. Page bodies are stored under `crawled/{tenant}/{subscription or product}/{document}` (not
under `knowledge/`, so storing one does not fire the upload notification) and ingested by the same
document jobs as uploaded files.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from cmp.db.outbox import OutboxMessage
from cmp.db.uow import UnitOfWorkFactory
from cmp.errors import NotFound
from cmp.knowledge.messages import crawl_job, document_job
from cmp.knowledge.model import REFRESH_PERIODS, Document, UrlSource
from cmp.net.safe_http import USER_AGENT, FetchRefused, SafeFetcher
from cmp.ports import Clock, IdGenerator, ObjectStorage

HTML_TYPES = ("text/html", "application/xhtml+xml")
CHECK_EVERY = 10
"""A running crawl asks whether its source still exists every this many pages (it stops once deleted)."""


@dataclass(frozen=True)
class Page:
    url: str
    body: bytes
    depth: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def _site(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def links(html: bytes, base: str) -> list[str]:
    """The absolute http(s) links of a page (fragments removed), in document order, without repeats."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html.decode("utf-8", "replace"))
    base_tag = tree.css_first("base[href]")
    root = urljoin(base, base_tag.attributes.get("href") or "") if base_tag else base
    found: dict[str, None] = {}
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if not href or href.startswith(("mailto:", "javascript:", "tel:", "#")):
            continue
        url = urldefrag(urljoin(root, href))[0]
        if urlsplit(url).scheme in ("http", "https"):
            found[url] = None
    return list(found)


class Crawler:
    """Fetches a site's pages (see the module doc)."""

    def __init__(self, fetcher: SafeFetcher) -> None:
        self._fetcher = fetcher

    def _robots(self, start: str) -> Any:
        from protego import Protego

        scheme, host, port = _site(start)
        netloc = host if port is None else f"{host}:{port}"
        try:
            text = self._fetcher.get(f"{scheme}://{netloc}/robots.txt", accept=()).body.decode(
                "utf-8", "replace"
            )
        except FetchRefused:
            text = ""
        return Protego.parse(text)

    def crawl(
        self,
        start: str,
        max_depth: int,
        max_pages: int,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> list[Page]:
        """The site's pages reachable from `start`; raises `FetchRefused` when the start page itself
        cannot be fetched (pages after it that fail are skipped). Every `CHECK_EVERY` pages it asks
        `still_wanted()` and stops early when it answers False."""
        robots = self._robots(start)
        site = _site(start)
        if not robots.can_fetch(start, USER_AGENT):
            raise FetchRefused(f"robots.txt of {site[1]} does not allow {start}")
        queue: deque[tuple[str, int]] = deque([(start, 0)])
        seen = {start}
        pages: list[Page] = []
        checked = 0
        while queue and len(pages) < max_pages:
            if len(pages) >= checked + CHECK_EVERY:
                checked = len(pages)
                if not still_wanted():
                    break
            url, depth = queue.popleft()
            try:
                result = self._fetcher.get(url, accept=HTML_TYPES)
            except FetchRefused:
                if not pages and url == start:
                    raise
                continue
            if _site(result.url) != site:
                continue
            pages.append(Page(result.url, result.body, depth))
            if depth >= max_depth:
                continue
            for link in links(result.body, result.url):
                if link not in seen and _site(link) == site and robots.can_fetch(link, USER_AGENT):
                    seen.add(link)
                    queue.append((link, depth + 1))
        return pages


class WebsiteCrawls:
    """Crawls a website source into its knowledge base, and queues the sources due for a refresh."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        objects: ObjectStorage,
        bucket: Callable[[], str],
        queue_url: Callable[[], str],
        crawler: Callable[[], Crawler],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._objects = objects
        self._bucket = bucket
        self._queue_url = queue_url
        self._crawler = crawler
        self._clock = clock
        self._ids = ids

    def crawl(self, tenant_id: str, source_id: uuid.UUID) -> str:
        """Crawl the source and bring its pages in step (new, changed, vanished); returns a summary, or
        "gone" when the source was deleted before or during the crawl (then nothing is stored)."""
        with self._uow(tenant_id) as uow:
            try:
                source: UrlSource = uow.knowledge_url_sources.get(source_id, for_update=True)
            except NotFound:
                return "gone"
            source.status = "crawling"
            uow.knowledge_url_sources.save(source)
            uow.commit()
        try:
            pages = self._crawler().crawl(
                source.url, source.max_depth, source.max_pages, lambda: self._exists(tenant_id, source_id)
            )
        except FetchRefused as e:
            with self._uow(tenant_id) as uow:
                try:
                    source = uow.knowledge_url_sources.get(source_id, for_update=True)
                except NotFound:
                    return "gone"
                source.status, source.error = "failed", e.message
                uow.knowledge_url_sources.save(source)
                uow.commit()
            return "failed"
        return self._apply(tenant_id, source_id, pages)

    def _exists(self, tenant_id: str, source_id: uuid.UUID) -> bool:
        with self._uow(tenant_id) as uow:
            return bool(uow.knowledge_url_sources.exists(source_id))

    def _apply(self, tenant_id: str, source_id: uuid.UUID, pages: list[Page]) -> str:
        added = changed = removed = 0
        stale_keys: list[str] = []
        with self._uow(tenant_id) as uow:
            try:
                source = uow.knowledge_url_sources.get(source_id, for_update=True)
            except NotFound:
                return "gone"
            base = uow.knowledge_bases.get(source.knowledge_base_id)
            held: dict[str, Document] = {
                d.url or "": d for d in uow.knowledge_documents.for_url_source(source.id)
            }
            now = self._clock.now()
            for page in pages:
                document = held.pop(page.url, None)
                if document is not None and document.metadata.get("page_sha256") == page.digest:
                    continue
                if document is None:
                    document_id = self._ids.new_id()
                    document = Document(
                        document_id,
                        source.tenant_id,
                        base.id,
                        "url",
                        now,
                        url=page.url,
                        url_source_id=source.id,
                        content_type="text/html",
                        title=page.url,
                        object_key=f"crawled/{source.tenant_id}/{base.subscription_id or base.product_id}/{document_id}",
                    )
                    uow.knowledge_documents.add(document)
                    added += 1
                else:
                    if document.status in ("indexed", "failed"):
                        document.reindex()
                    changed += 1
                assert document.object_key is not None
                self._objects.put(self._bucket(), document.object_key, page.body, "text/html")
                document.size_bytes = len(page.body)
                document.metadata = {**document.metadata, "page_sha256": page.digest, "depth": page.depth}
                uow.knowledge_documents.save(document)
                uow.outbox.add(
                    OutboxMessage.to_queue(
                        self._queue_url(),
                        document_job(str(source.tenant_id), str(document.id)),
                        group_id=str(source.tenant_id),
                    )
                )
            for vanished in held.values():
                uow.knowledge_documents.delete(vanished.id)
                if vanished.object_key:
                    stale_keys.append(vanished.object_key)
                removed += 1
            source.crawled(now, len(pages))
            uow.knowledge_url_sources.save(source)
            uow.commit()
        for key in stale_keys:
            self._objects.delete(self._bucket(), key)
        return f"pages={len(pages)} added={added} changed={changed} removed={removed}"

    def refresh_due(self, now: datetime, limit: int = 200) -> int:
        """Queue a crawl of every source whose refresh time has passed (each in its tenant's group) and
        move its next refresh on, so the next tick does not queue it again; returns how many."""
        with self._uow() as uow:
            due = uow.knowledge_url_sources.due(now, limit)
        for tenant_id, source_id in due:
            with self._uow(tenant_id) as uow:
                source = uow.knowledge_url_sources.get(source_id, for_update=True)
                period = REFRESH_PERIODS[source.refresh_interval]
                source.next_refresh_at = now + period if period else None
                uow.knowledge_url_sources.save(source)
                uow.outbox.add(
                    OutboxMessage.to_queue(
                        self._queue_url(), crawl_job(str(tenant_id), str(source_id)), group_id=str(tenant_id)
                    )
                )
                uow.commit()
        return len(due)
