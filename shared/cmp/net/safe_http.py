"""An SSRF-safe HTTP fetcher for URLs that tenants give us (website crawling; automations' HTTP action).

Every request, and every redirect hop again:
1. only `http`/`https`, no credentials in the URL;
2. the host is resolved once and EVERY address it resolves to must be public: loopback, private
   (RFC 1918, unique-local), link-local (which holds the cloud metadata address 169.254.169.254),
   multicast, reserved, unspecified, shared (100.64/10), and IPv4-mapped forms of those are refused, so
   a name that answers with one public and one internal address is refused as well;
3. the connection goes to the address that was checked (the URL's host is replaced by it; `Host` and,
   for https, TLS SNI and certificate verification keep the name), so a second DNS answer (rebinding)
   cannot redirect the request;
4. redirects are followed by hand (at most `max_redirects`), each new URL checked from step 1;
5. the answer's content type must be one the caller accepts, and the body is read up to `max_bytes`
   (`ResponseTooLarge` beyond it, without reading the rest).

`allowed_hosts` is an explicit list of host names that may resolve to non-public addresses (a local demo
site); it is empty unless configured (`Settings.crawl_allowed_hosts`), never a default.
Proxies from the environment are ignored (`trust_env=False`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from cmp.errors import DomainError

Resolver = Callable[[str, int], list[str]]
USER_AGENT = "CMP-KnowledgeBot/1.0 (+https://cmp.dev/bot)"
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class FetchRefused(DomainError):
    """The URL may not be fetched (scheme, address, redirect loop) or its answer is unusable; the
    message says why and is safe to show the tenant."""

    status = 422
    code = "fetch_refused"


class ResponseTooLarge(FetchRefused):
    """The body is larger than the fetcher's `max_bytes`."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (A and AAAA), by the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchRefused(f"the host {host} cannot be resolved") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """True when `address` is a globally routable unicast address (see the module doc for what is not)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@dataclass(frozen=True)
class FetchResult:
    """A fetched resource: the final URL (after redirects), status, content type (lower-case, without
    parameters), the body and the response headers."""

    url: str
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class SafeFetcher:
    """GETs URLs under the rules of the module doc. `resolver` and `transport` are for tests."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        max_bytes: int = 5 * 1024 * 1024,
        timeout: float = 10.0,
        max_redirects: int = 5,
        resolver: Resolver = system_resolver,
        transport: object | None = None,
    ) -> None:
        self._allowed = frozenset(h.lower().strip() for h in allowed_hosts)
        self.max_bytes = max_bytes
        self._timeout = timeout
        self._max_redirects = max_redirects
        self._resolve = resolver
        self._transport = transport

    def check(self, url: str) -> tuple[str, int, str]:
        """(host, port, address to connect to) for `url`; raises `FetchRefused` when it may not be fetched."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(f"only http and https URLs can be fetched, not {parts.scheme or 'no scheme'}")
        if parts.username or parts.password:
            raise FetchRefused("URLs with credentials are not fetched")
        host = (parts.hostname or "").lower()
        if not host:
            raise FetchRefused("the URL has no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise FetchRefused("the URL's port is invalid") from e
        addresses = self._resolve(host, port)
        if not addresses:
            raise FetchRefused(f"the host {host} has no address")
        if host not in self._allowed:
            blocked = [a for a in addresses if not is_public(a)]
            if blocked:
                raise FetchRefused(
                    f"the host {host} resolves to a non-public address ({blocked[0]}); not fetched"
                )
        return host, port, addresses[0]

    def get(self, url: str, accept: Iterable[str] = ("text/html",)) -> FetchResult:
        """GET `url` following redirects safely; raises `FetchRefused` (address, scheme, status ≥ 400,
        content type not in `accept`, too many redirects) or `ResponseTooLarge`."""
        import httpx

        accepted = tuple(accept)
        with httpx.Client(
            transport=self._transport,  # type: ignore[arg-type]
            timeout=self._timeout,
            trust_env=False,
            follow_redirects=False,
        ) as client:
            for _ in range(self._max_redirects + 1):
                host, port, address = self.check(url)
                parts = urlsplit(url)
                literal = f"[{address}]" if ":" in address else address
                pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
                default_port = port == (443 if parts.scheme == "https" else 80)
                extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
                request = client.build_request(
                    "GET",
                    pinned,
                    headers={"Host": host if default_port else f"{host}:{port}", "User-Agent": USER_AGENT},
                    extensions=extensions,
                )
                try:
                    response = client.send(request, stream=True)
                except httpx.HTTPError as e:
                    raise FetchRefused(f"{url} could not be fetched ({type(e).__name__})") from e
                try:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        url = urljoin(url, location)
                        continue
                    return self._read(url, response, accepted)
                finally:
                    response.close()
        raise FetchRefused(f"more than {self._max_redirects} redirects")

    def _read(self, url: str, response: object, accepted: tuple[str, ...]) -> FetchResult:
        import httpx

        assert isinstance(response, httpx.Response)
        if response.status_code >= 400:
            raise FetchRefused(f"{url} answered {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if accepted and content_type not in accepted:
            raise FetchRefused(
                f"{url} is {content_type or 'of no declared type'}, not {' or '.join(accepted)}"
            )
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(f"{url} is larger than {self.max_bytes} bytes")
        body = bytearray()
        for piece in response.iter_bytes():
            body.extend(piece)
            if len(body) > self.max_bytes:
                raise ResponseTooLarge(f"{url} is larger than {self.max_bytes} bytes")
        return FetchResult(url, response.status_code, content_type, bytes(body), dict(response.headers))
