"""The http action's fetcher: one request to a public address, pinned to the address that was checked.

The SSRF rules are the platform's one set, `cmp.net.safe_http.SafeFetcher.check` (scheme, no credentials in
the URL, every resolved address public, the connection pinned to the checked address with `Host` and TLS
SNI keeping the name). Unlike the crawler, an http step may use any method and send a body, follows no
redirects (a 3xx is returned as it is, for the workflow to decide) and reads the body up to `max_bytes`.
`allowed_hosts` (host names, from `Settings.workflow_http_allowed_hosts`) lets named local endpoints
through: the local runner's demo endpoints, never set in AWS.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from cmp.net.safe_http import FetchRefused, SafeFetcher
from cmp.workflows.actions import HttpResponse, StepFailed


class GuardedFetcher:
    """`HttpFetcher` over httpx with the rules of the module docstring."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self._guard = SafeFetcher(allowed_hosts)

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        max_bytes: int,
    ) -> HttpResponse:
        """Send one request; raises `StepFailed` (`Http.Refused`, `Http.Timeout`, `Http.TooLarge`,
        `Http.Unreachable`)."""
        import httpx

        try:
            host, port, address = self._guard.check(url)
        except FetchRefused as e:
            raise StepFailed("Http.Refused", e.message) from e
        parts = urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        request_headers = {**headers, "host": parts.netloc.rpartition("@")[2]}
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                request = client.build_request(
                    method, pinned, headers=request_headers, content=body, extensions=extensions
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
