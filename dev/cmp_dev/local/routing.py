"""Which function answers a request, and what to say when none does: the same decision for every path.

- No route of the template matches the path: `NoRoute` (API Gateway's MISSING_AUTHENTICATION_TOKEN).
- A route matches but not with this method (any method, TRACE and made-up ones included): `NotAllowed`
  with the methods that are, for a 405 with `Allow`. For an `ANY` route (`{proxy+}` resource groups) the
  methods come from the function's own OpenAPI document, so PATCH where the function routes no PATCH is
  a 405 like anywhere else, not the function's 404.
- OPTIONS: `Preflight` (answered by the runner, as SAM's CORS mock method is, without the authorizer).
- HEAD where only GET is routed: `Invoke` the GET route with `head=True` (answered like GET, no body).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cmp_dev.local.events import route_pattern, route_specificity
from cmp_dev.local.template import ApiRoute

STANDARD_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

# A function's operations: (OpenAPI path template, its methods in upper case).
Operations = Sequence[tuple[str, frozenset[str]]]


@dataclass(frozen=True)
class Invoke:
    """Call `route`'s function with `method` (GET for a HEAD request, with `head` set)."""

    route: ApiRoute
    params: dict[str, str]
    method: str
    head: bool = False


@dataclass(frozen=True)
class NotAllowed:
    """The path exists; `allowed` lists its methods in the order `Allow` shows them."""

    allowed: tuple[str, ...]


@dataclass(frozen=True)
class Preflight:
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class NoRoute:
    pass


Decision = Invoke | NotAllowed | Preflight | NoRoute


class RouteTable:
    """The template's API routes, most specific first; `operations(function)` gives an `ANY` route's
    function's own operations (an empty list when unknown: every method then reaches the function)."""

    def __init__(self, routes: Sequence[ApiRoute], operations: Callable[[str], Operations]) -> None:
        self._routes = sorted(routes, key=route_specificity, reverse=True)
        self._operations = operations

    def resolve(self, method: str, path: str) -> Decision:
        """The decision for `method` (any token, case-insensitive) on `path` (decoded, no query)."""
        method = method.upper()
        matching = [(r, m.groupdict()) for r in self._routes if (m := route_pattern(r.path).match(path))]
        if not matching:
            return NoRoute()
        allowed = self.allowed(path, [r for r, _ in matching])
        if method == "OPTIONS":
            return Preflight(allowed)
        if method not in allowed:
            return NotAllowed(allowed)
        head = method == "HEAD" and not any(r.method == "HEAD" for r, _ in matching)
        wanted = "GET" if head else method
        for route, params in matching:
            if route.method == wanted or (route.method == "ANY" and wanted in self.allowed(path, [route])):
                return Invoke(route, params, wanted, head)
        return NotAllowed(allowed)

    def allowed(self, path: str, routes: Sequence[ApiRoute]) -> tuple[str, ...]:
        """The methods `routes` (those matching `path`) answer on it, OPTIONS and HEAD-for-GET included."""
        methods: set[str] = {"OPTIONS"}
        for route in routes:
            if route.method != "ANY":
                methods.add(route.method)
                continue
            operations = self._operations(route.function)
            known = [ops for template, ops in operations if route_pattern(template).match(path)]
            if known:
                methods.update(*known)
            else:
                methods.update(STANDARD_METHODS)
        if "GET" in methods:
            methods.add("HEAD")
        return tuple(sorted(methods))
