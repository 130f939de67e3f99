"""A local HTTP site for crawler and fetcher tests: `pages` maps a path to (status, headers, body) and can
be changed while the server runs; it listens on 127.0.0.1 only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Page = tuple[int, dict[str, str], bytes]


class Site:
    def __init__(self, server: ThreadingHTTPServer, pages: dict[str, Page]) -> None:
        self.server = server
        self.pages = pages
        self.requests: list[tuple[str, str]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def html(self, path: str, body: str) -> None:
        self.pages[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, body.encode())


@contextmanager
def serve(pages: dict[str, Page] | None = None) -> Iterator[Site]:
    site: Site

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((self.path, self.headers.get("Host", "")))
            status, headers, body = site.pages.get(
                self.path, (404, {"Content-Type": "text/plain"}, b"missing")
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site = Site(server, dict(pages or {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
