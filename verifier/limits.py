"""Limits and back-pressure: what one client can make the verifier read, do and send.

One ASGI middleware (:class:`Limits`) in front of every route, so no route can forget it:

* **request bodies**: at most ``max_body_bytes`` (413, checked on ``Content-Length`` and again
  while reading, so a chunked body cannot pass); a JSON body must pass :func:`registry.jsontext.loads`
  (depth, numbers, strings, duplicate members) before any route parses it (400 otherwise), so no
  body can crash the process whatever the interpreter's recursion limit;
* **rate limits** (sliding window counters in memory, :class:`Windows`; rates parsed by the
  ``limits`` library): every request but
  ``/v1/health`` and ``/metrics`` counts against its client's ``rate_limit`` (an IPv6 client by its /64); requests
  that make the verifier contact a URL
  (:data:`OUTBOUND`) count against the client's ``outbound_rate_limit`` and against the
  ``target_rate_limit`` of the host they name (one ``url`` parameter only; the host folded to one
  key), so no client can use the verifier to hammer a third party. 429 with ``Retry-After``.
  ``/v1/health`` is never limited. Redirects a target answers with are not counted against the
  host they lead to (the guarded client follows at most a few, to public addresses only).

Concurrency of the outbound checks themselves is bounded in :class:`CheckSlots` (a queue, then
503 with ``Retry-After``): a waiting check holds no thread and no database session.

The client is the TCP peer (``scope["client"]``); behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so that peer is the real client. The windows live in
one process: replicas each keep their own (docs/verifier.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

from limits import RateLimitItem, parse
from starlette.types import ASGIApp, Receive, Scope, Send

from registry import jsontext
from registry.errors import InputError
from registry.identity.asgi import read_body, replaying
from verifier.errors import Problem
from verifier.problems import problem_response
from verifier.settings import VerifierSettings

OUTBOUND = {
    ("GET", "/v1/check"),
    ("POST", "/v1/behaviour-checks"),
    ("POST", "/v1/check-jobs"),  # an endpoint check run as a job
    ("GET", "/check"),  # the web page's check
    ("POST", "/check/behaviour"),  # the web page's button that starts a behavioural check
}
"""Requests that make the verifier contact the URL they name (``url=``)."""
UNLIMITED = {"/v1/health", "/metrics"}


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _route_path(scope: Scope) -> str:
    """The path the routes see (without a ``--root-path`` prefix), as Starlette matches it."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _target(urls: list[str]) -> str | None:
    """The host a check would contact, as one key per host (case, trailing dot and IDNA folded)."""
    if not urls:
        return None
    try:
        host = (urlsplit(urls[-1]).hostname or "").rstrip(".")
        return host.encode("idna").decode("ascii").lower() or None
    except (ValueError, UnicodeError):
        return None


def _client(scope: Scope) -> str:
    """The rate-limit key of the TCP peer: an IPv4 address, or an IPv6 address's /64 (one host
    commonly holds a whole /64, and would otherwise get a window per address)."""
    return _client_key(str((scope.get("client") or ("unknown", 0))[0]))


@lru_cache(maxsize=4096)
def _client_key(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Windows:
    """Sliding-window counters in memory, one per key: the count of the current fixed window and
    of the one before it; a key's estimate is ``previous * (share of the window still to run) +
    current``, the approximation of ``limits``' sliding window counter (and Cloudflare's), so a
    request costs the same whatever the limit.

    Kept here rather than in ``limits``' ``MemoryStorage``, which starts a timer thread every
    10 ms under load to scan every key it holds: under wrk that thread took the interpreter lock
    from the event loop a hundred times a second, and with many clients (one key per IPv6 /64)
    each scan grows with them. Here nothing runs between requests: a window rolls over when its
    key is next counted, and at most :data:`MAX_KEYS` keys are kept (those counted longest ago
    are dropped first, which only forgets their counts). Used from the event loop; a lock keeps
    it safe from threads anyway."""

    def __init__(self, max_keys: int = 0) -> None:
        self.max_keys = max_keys or MAX_KEYS
        self._counts: dict[str, list[int]] = {}  # key -> [window number, current count, previous count]
        self._lock = threading.Lock()

    def _state(self, item: RateLimitItem, key: str, now: float) -> tuple[list[int], float]:
        """The key's counts with its windows rolled over to ``now``, and how far into the
        current window ``now`` is (0..1)."""
        expiry = item.get_expiry()
        number, into = divmod(now, expiry)
        counts = self._counts.get(key)
        if counts is None or counts[0] != int(number):
            previous = counts[1] if counts is not None and counts[0] == int(number) - 1 else 0
            counts = [int(number), 0, previous]
            self._counts.pop(key, None)  # re-inserted last: the order is by last rollover
            self._counts[key] = counts
            if len(self._counts) > self.max_keys:
                for old in list(itertools.islice(self._counts, len(self._counts) - self.max_keys * 9 // 10)):
                    del self._counts[old]
        return counts, into / expiry

    def hit(self, item: RateLimitItem, key: str, now: float | None = None) -> bool:
        """Count one request against ``item`` for ``key``; False (and nothing counted) if the
        window is full."""
        with self._lock:
            counts, share = self._state(item, key, time.time() if now is None else now)
            if math.floor(counts[2] * (1 - share) + counts[1]) + 1 > item.amount:
                return False
            counts[1] += 1
            return True

    def test(self, item: RateLimitItem, key: str, now: float | None = None) -> bool:
        """Whether one more request would be counted (nothing is counted)."""
        with self._lock:
            counts, share = self._state(item, key, time.time() if now is None else now)
            return math.floor(counts[2] * (1 - share) + counts[1]) + 1 <= item.amount

    def retry_after(self, item: RateLimitItem, key: str, now: float | None = None) -> float:
        """Seconds until one more request would be counted."""
        now = time.time() if now is None else now
        with self._lock:
            counts, share = self._state(item, key, now)
        expiry, room = item.get_expiry(), item.amount - 1
        _, current, previous = counts
        if room < 0:  # a limit of nothing at all: never
            return float(expiry)
        if current <= room:  # the previous window's share decays enough within this one
            needed = 0.0 if previous == 0 else 1 - (room - current + 1) / previous
            return max(0.0, (max(needed, share) - share) * expiry)
        # only after this window ends, as this window's count decays in the next
        needed = 1 - (room + 1) / current
        return (1 - share) * expiry + max(0.0, needed) * expiry


MAX_KEYS = 200_000
"""Most keys (clients, targets) whose counts are kept at once: about 30 MB."""


class RateLimits:
    """Per-client and per-target sliding windows (:class:`Windows`)."""

    def __init__(self, settings: VerifierSettings) -> None:
        self._windows = Windows()
        self.general: RateLimitItem = parse(settings.rate_limit)
        self.outbound: RateLimitItem = parse(settings.outbound_rate_limit)
        self.target: RateLimitItem = parse(settings.target_rate_limit)

    def hit(self, scope: Scope, urls: list[str]) -> tuple[str, int] | None:
        """Count this request; ``(what, retry after seconds)`` if a limit refuses it."""
        client = _client(scope)
        checks: list[tuple[RateLimitItem, str, str]] = [(self.general, f"client:{client}", "requests from you")]
        if (scope.get("method", "GET"), _route_path(scope)) in OUTBOUND:
            checks.append((self.outbound, f"outbound:{client}", "checks from you"))
            target = _target(urls)
            if target is not None:
                checks.append((self.target, f"target:{target}", f"checks of {target}"))
        if len(checks) == 1:  # one window: a refused hit counts nothing, so no test first
            item, key, what = checks[0]
            if self._windows.hit(item, key):
                return None
            _count_refusal(scope, key.split(":", 1)[0])
            return what + f" (limit {item})", self._retry_after(item, key)
        for item, key, what in checks:  # several: count none unless every one has room
            if not self._windows.test(item, key):
                _count_refusal(scope, key.split(":", 1)[0])
                return what + f" (limit {item})", self._retry_after(item, key)
        for item, key, _ in checks:
            self._windows.hit(item, key)
        return None

    def _retry_after(self, item: RateLimitItem, key: str) -> int:
        """Whole seconds, strictly after the moment the next request is counted (a client that
        waits exactly this long is never refused on the boundary)."""
        return max(1, math.floor(self._windows.retry_after(item, key)) + 1)


def _count_refusal(scope: Scope, limit: str) -> None:
    """Count a refusal in the app's metrics (``modelseal_refused{limit=...}``)."""
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    metrics = getattr(services, "metrics", None)
    if metrics is not None:
        metrics.refused.labels(limit).inc()


class Limits:
    """The middleware: rate limits, then the body limit and the JSON guard, then the app."""

    def __init__(self, app: ASGIApp, settings: VerifierSettings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.rates = RateLimits(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        query = scope.get("query_string", b"")
        # parsed only when it could name a url (a percent-escape could spell the key)
        urls = parse_qs(query.decode("latin-1")).get("url", []) if b"url" in query or b"%" in query else []
        if len(urls) > 1:  # the route reads the last, a limit keyed on the first would miss it
            response = problem_response(
                422, "invalid-request", "The request is not valid", "give one url parameter, not several", path
            )
            await response(scope, receive, send)
            return
        if path not in UNLIMITED:
            refused = self.rates.hit(scope, urls)
            if refused is not None:
                what, retry = refused
                response = problem_response(
                    429,
                    "rate-limited",
                    "Too many requests",
                    f"too many {what}; try again in {retry} s",
                    path,
                    retryAfter=retry,
                )
                response.headers["Retry-After"] = str(retry)
                await response(scope, receive, send)
                return
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope, receive, send, int(declared))
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await self._too_large(scope, receive, send, None)
            return
        if body and "json" in (_header(scope, b"content-type") or "").lower():
            try:
                jsontext.loads(body, what="the request body", max_bytes=self.max_body)
            except jsontext.JSONRefused as exc:
                response = problem_response(400, "invalid-json", "The body is not acceptable JSON", exc.message, path)
                await response(scope, receive, send)
                return
        await self.app(scope, replaying(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        try:
            return await read_body(receive, self.max_body)
        except InputError:
            raise _TooLarge from None

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        told = f"{size:,} bytes" if size is not None else "more bytes"
        response = problem_response(
            413,
            "body-too-large",
            "Request body too large",
            f"the body is {told}; this verifier accepts at most {self.max_body:,}",
            scope.get("path", ""),
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


class CheckSlots:
    """At most ``concurrent`` outbound checks at once, at most ``queued`` waiting for a slot; a
    check beyond that is refused at once (503, ``Retry-After``). Waiting is an ``await``: it holds
    no worker thread and no database session, so reads and ``/v1/health`` are never starved."""

    def __init__(self, concurrent: int, queued: int, on_refuse: Callable[[], None] | None = None) -> None:
        self.concurrent, self.queued = concurrent, queued
        self._semaphore: asyncio.Semaphore | None = None
        self.waiting = 0
        self.on_refuse = on_refuse

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore is None:  # bound to the running loop on first use
            self._semaphore = asyncio.Semaphore(self.concurrent)
        if self._semaphore.locked() and self.waiting >= self.queued:
            if self.on_refuse is not None:
                self.on_refuse()
            raise Problem(
                503,
                "busy",
                "Too many checks in progress",
                f"{self.concurrent} checks are running and {self.waiting} are waiting; try again shortly",
                retryAfter=5,
                headers={"Retry-After": "5"},
            )
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()
