"""The http action's fetcher: one request to a public address, pinned to the address that was checked.

SSRF rules: only `http`/`https`; the host is resolved once and every address must be globally routable
(no loopback, private, link-local — the cloud metadata address 169.254.169.254 among them —, multicast,
reserved or unspecified); the request then connects to that checked address (the `Host` header and TLS
SNI/verification keep the name), so a second DNS answer cannot redirect it (DNS rebinding); redirects are
not followed (a 3xx is returned as it is); the body is read up to `max_bytes`. `allowed_hosts`
(`host:port` entries, from `Settings.workflow_http_allowed_hosts`) lets named local endpoints through: the
local runner's demo endpoints, never set in AWS.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from cmp.workflows.actions import HttpResponse, StepFailed


class GuardedFetcher:
    """`HttpFetcher` over httpx with the rules of the module docstring."""

    def __init__(self, allowed_hosts: frozenset[str] = frozenset()) -> None:
        self._allowed = allowed_hosts

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> HttpResponse:
        import httpx

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StepFailed("Http.Refused", f"not an http(s) URL: {url[:200]}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname
        address = self._address(host, port)
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        request_headers = {**headers, "host": parts.netloc.rpartition("@")[2]}
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                request = client.build_request(
                    method, pinned, headers=request_headers, content=body, extensions={"sni_hostname": host}
                )
                response = client.send(request, stream=True)
                try:
                    data = bytearray()
                    for chunk in response.iter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise StepFailed(
                                "Http.TooLarge", f"the response is larger than {max_bytes} bytes"
                            )
                finally:
                    response.close()
        except httpx.TimeoutException as e:
            raise StepFailed("Http.Timeout", f"no answer from {host} within {timeout:g}s") from e
        except httpx.HTTPError as e:
            raise StepFailed("Http.Unreachable", f"{host}: {type(e).__name__}") from e
        return HttpResponse(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, bytes(data)
        )

    def _address(self, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as e:
            raise StepFailed("Http.Unreachable", f"{host} does not resolve") from e
        addresses = [str(info[4][0]) for info in infos]
        if f"{host}:{port}" not in self._allowed:
            for address in addresses:
                if not ipaddress.ip_address(address.split("%")[0]).is_global:
                    raise StepFailed("Http.Refused", f"{host} resolves to a private or internal address")
        return addresses[0]
