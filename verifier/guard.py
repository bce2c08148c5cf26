"""The one client through which the verifier contacts a URL a user gave it.

Every outbound request of the verifier (a chatbot's identity endpoint, its challenge endpoint, one
chat completion) goes through :class:`GuardedClient`. For each hop (the URL, then every redirect):

1. the scheme must be allowed and the URL must name a host;
2. the host is resolved **once** and *every* address it resolves to is checked by
   :meth:`GuardedClient.check_address` (the decision point): loopback, private, link-local,
   cloud metadata, multicast, reserved and unspecified targets are refused unless the
   :class:`GuardPolicy` allows them (only loopback and private can be allowed; metadata never);
3. the connection goes to a checked IP literal (the URL is rewritten to the IP, while the ``Host``
   header and the TLS server name / certificate check keep the original host name), so nothing
   resolves the name a second time and DNS rebinding cannot swap the address after the check;
4. the answer is read in a streaming loop under a size limit and one deadline for the whole
   request (connect, send, headers, body, redirects), so a trickling or endless server is cut.

Redirects are never followed by httpx; this module follows 301/302/303/307/308 itself, checking
each hop as above. Requests go straight to the target: no proxy from the environment, no cookie
jar, no credentials from the URL, no connection reuse between requests (a pooled TLS connection
checked for one host name must not serve another name on the same IP), ``Accept-Encoding:
identity`` (the body is returned as received, so no decompression bomb).

Every failure is an :class:`OutboundRefused` with a short machine ``reason`` and a message in words.
This module owns outbound HTTP only; it knows nothing of chatbots, the index or the web API.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx

from verifier.errors import OutboundRefused, Reason

if TYPE_CHECKING:
    from verifier.settings import VerifierSettings

__all__ = ["GuardPolicy", "GuardedClient", "GuardedResponse", "Resolver"]


Resolver = Callable[[str, int], list[str]]

_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_USER_AGENT: Final = "modelseal-verifier/0.1"
# Headers that carry credentials: dropped when a redirect leaves the origin (as browsers and httpx do).
_CREDENTIAL_HEADERS: Final = ("authorization", "proxy-authorization", "cookie")
_ALLOWED_SCHEMES: Final = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata and platform endpoints: never contacted, whatever the policy.
_METADATA: Final[frozenset[IPAddress]] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure WireServer (a public address, reachable only from Azure hosts)
    )
)
# Private in the sense of the policy: what allow_private opens, and nothing else.
_PRIVATE_NETS: Final[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]] = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (RFC 6598)
    ipaddress.ip_network("fc00::/7"),  # unique local (RFC 4193)
    ipaddress.ip_network("fec0::/10"),  # site-local (deprecated, still routed in places)
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
)
_THIS_NETWORK: Final = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.0.0.0 to the local host
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: an IPv4 address inside


_WORDS = {
    "metadata": "a cloud metadata address",
    "loopback": "a loopback address",
    "private": "a private-network address",
    "link-local": "a link-local address",
    "multicast": "a multicast address",
    "unspecified": "an unspecified address",
    "reserved": "a reserved or non-public address",
}


@dataclass(frozen=True)
class GuardPolicy:
    """What the guarded client may contact, and how long and how much it waits for.

    Loopback and private targets are refused unless allowed; link-local, metadata, multicast,
    reserved and unspecified addresses are always refused. Timeouts are seconds;
    ``total_timeout`` bounds the whole request (every hop, the body included).
    """

    allow_loopback: bool = False
    allow_private: bool = False  # RFC 1918, ULA fc00::/7, CGNAT 100.64/10, site-local, local NAT64
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_response_bytes: int = 1_000_000
    max_redirects: int = 3
    schemes: frozenset[str] = frozenset({"http", "https"})

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.max_response_bytes < 0 or self.max_redirects < 0:
            raise ValueError("max_response_bytes and max_redirects cannot be negative")
        if not self.schemes or not self.schemes <= _ALLOWED_SCHEMES:
            raise ValueError(f"schemes must be a non-empty subset of {sorted(_ALLOWED_SCHEMES)}")

    @classmethod
    def from_settings(cls, settings: VerifierSettings) -> GuardPolicy:
        """The policy of endpoint checks, for the service and ``modelseal check`` alike: defaults,
        opened only as far as the verifier's operator allowed."""
        return cls(allow_loopback=settings.allow_loopback_targets, allow_private=settings.allow_private_targets)

    @classmethod
    def for_behaviour(cls, settings: VerifierSettings) -> GuardPolicy:
        """The policy of behavioural checks (service and CLI): as :meth:`from_settings`, with the
        longer waits that generating several answers needs."""
        return cls(
            allow_loopback=settings.allow_loopback_targets,
            allow_private=settings.allow_private_targets,
            read_timeout=120.0,
            total_timeout=180.0,
        )


@dataclass(frozen=True)
class GuardedResponse:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # the final URL (after redirects), with its host name
    address: str  # the IP actually connected to for the final hop
    elapsed: float  # seconds, the whole request with its redirects


# --- the decision point -------------------------------------------------------------------


def _classify(ip: IPAddress) -> Reason | None:
    """The reason an address may be refused for, or ``None`` for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip  # ::ffff:127.0.0.1 is 127.0.0.1
        if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _METADATA:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        # 2002::/16 carries an IPv4 address: refuse it when that address would be refused.
        return _classify(ip.sixtofour)
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _PRIVATE_NETS):
        return "private"
    if ip.is_reserved or not ip.is_global:  # documentation, benchmarking, broadcast, IETF ranges...
        return "reserved"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address from a literal (brackets and an IPv6 zone allowed), else ``None``."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_T = TypeVar("_T")


def _within(fn: Callable[[], _T], seconds: float) -> _T:
    """``fn()`` in a helper thread, waited for at most ``seconds`` (getaddrinfo has no timeout)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="guard-resolve", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if worker.is_alive():
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


# --- the deadline -------------------------------------------------------------------------


class _Watchdog:
    """Cuts a hop's socket at the deadline, so no single blocking read outlives the request.

    httpx fixes a read timeout per request; a server that sends the headers late and then stays
    silent would otherwise keep a read waiting past ``total_timeout``. The socket is learnt from
    httpcore's ``trace`` extension as soon as it is connected (and again after the TLS handshake).
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sock = sock
                if self.fired:
                    self._cut()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._cut()

    def _cut(self) -> None:
        if self._sock is None:
            return
        # The plain socket method, also on an SSLSocket: it wakes a blocked read with EOF and does
        # not touch the SSL object the reading thread is using. OSError: already closed.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


# --- the client ---------------------------------------------------------------------------


class GuardedClient:
    """Sends one request to a user-given URL under a :class:`GuardPolicy`.

    ``resolver(host, port)`` returns the host's addresses (default: ``socket.getaddrinfo``); tests
    inject one. ``ssl_context`` replaces the default trust store (certifi) for HTTPS, for an
    operator with its own CA or a test with a local one; host names are always verified.
    Thread-safe: requests share nothing but the transport, which keeps no connection between them.

    ``keep_alive=True`` (behavioural probes: an ordinary OpenAI client reuses its connection) keeps
    connections open, in one pool **per host name**: a pooled connection is keyed by IP, and a TLS
    session verified for one host name must never carry a request for another host at that IP. A
    reused connection was opened to an address checked for that very host name.
    """

    def __init__(
        self,
        policy: GuardPolicy,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.policy = policy
        self.keep_alive = keep_alive
        self._resolver: Resolver = resolver if resolver is not None else _system_resolver
        self._ssl_context = ssl_context
        # The bare transport, not httpx.Client: no proxy from the environment, no cookie jar, no
        # auth from the URL, no automatic redirects.
        self._transport = self._new_transport(keep_alive=False)
        self._pools: dict[str, httpx.HTTPTransport] = {}
        self._pools_lock = threading.Lock()

    def _new_transport(self, *, keep_alive: bool) -> httpx.HTTPTransport:
        limits = (
            httpx.Limits(max_connections=4, max_keepalive_connections=2, keepalive_expiry=30)
            if keep_alive
            else httpx.Limits(max_connections=None, max_keepalive_connections=0)
        )
        return httpx.HTTPTransport(
            verify=self._ssl_context if self._ssl_context is not None else True,
            trust_env=False,
            limits=limits,
            retries=0,
        )

    def _transport_for(self, host: str) -> httpx.HTTPTransport:
        if not self.keep_alive:
            return self._transport
        with self._pools_lock:
            pool = self._pools.get(host)
            if pool is None:
                if len(self._pools) >= 64:  # a long-lived service checks many hosts: keep a few pools
                    self._pools.pop(next(iter(self._pools))).close()
                pool = self._pools[host] = self._new_transport(keep_alive=True)
            return pool

    @classmethod
    def from_settings(cls, settings: VerifierSettings) -> GuardedClient:
        return cls(GuardPolicy.from_settings(settings))

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # --- checks ---------------------------------------------------------------------------

    def check_address(self, ip: str) -> None:
        """Refuse ``ip`` unless the policy allows contacting it (the decision point)."""
        parsed = _parse_ip(ip)
        if parsed is None:
            raise OutboundRefused("no-host", f"{ip!r} is not an IP address")
        reason = _classify(parsed)
        if reason is None:
            return
        if reason == "loopback" and self.policy.allow_loopback:
            return
        if reason == "private" and self.policy.allow_private:
            return
        raise OutboundRefused(reason, f"{ip} is {_WORDS[reason]}; the verifier does not contact it")

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host``, each checked; refused if any one of them is forbidden.

        An IP literal is its own (only) address. A name resolving to several addresses, one of them
        forbidden, is refused as a whole: which one a connection would use is not ours to bet on.
        """
        return self._resolve(host, port, time.monotonic() + self.policy.total_timeout)

    def _resolve(self, host: str, port: int, deadline: float) -> list[str]:
        literal = _parse_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            if not host:
                raise OutboundRefused("no-host", "the URL names no host")
            try:
                answer = _within(lambda: self._resolver(host, port), deadline - time.monotonic())
            except TimeoutError:
                raise OutboundRefused("timeout", f"resolving {host} took too long") from None
            except (OSError, UnicodeError, ValueError) as exc:
                raise OutboundRefused("dns-failed", f"{host} could not be resolved: {exc}") from exc
            addresses = []
            for text in answer:
                parsed = _parse_ip(text)
                if parsed is None:
                    raise OutboundRefused("dns-failed", f"resolving {host} gave {text!r}, not an address")
                addresses.append(str(parsed))
            addresses = list(dict.fromkeys(addresses))
            if not addresses:
                raise OutboundRefused("dns-failed", f"{host} has no address")
        for address in addresses:
            try:
                self.check_address(address)
            except OutboundRefused as exc:
                if literal is not None:
                    raise
                # never which address: that would map the verifier's internal network for anyone
                words = _WORDS.get(exc.reason, "an address the verifier does not contact")
                told = f"{host} resolves to {words}; the verifier does not contact it"
                raise OutboundRefused(exc.reason, told) from None
        return addresses

    def _target(self, url: httpx.URL | str, deadline: float) -> tuple[httpx.URL, list[str]]:
        """Check one hop before anything is sent: scheme, host, and every address it resolves to."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise OutboundRefused("no-host", f"{str(url)[:200]!r} is not a valid URL: {exc}") from exc
        if parsed.scheme not in self.policy.schemes:
            shown = parsed.scheme or "no scheme"
            raise OutboundRefused("scheme", f"{shown} URLs are not contacted (allowed: {sorted(self.policy.schemes)})")
        if not parsed.host:
            raise OutboundRefused("no-host", f"{str(parsed)[:200]!r} names no host")
        port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
        return parsed, self._resolve(parsed.raw_host.decode("ascii"), port, deadline)

    # --- sending --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> GuardedResponse:
        """Send one request; follow permitted redirects; return the whole (limited) answer."""
        if json is not None and content is not None:
            raise ValueError("pass json or content, not both")
        start = time.monotonic()
        deadline = start + self.policy.total_timeout
        method = method.upper()
        sent_headers = httpx.Headers(headers or {})
        target, addresses = self._target(url, deadline)
        redirects = 0
        while True:
            status, got_headers, body, address = self._hop(
                method, target, addresses, sent_headers, json, content, deadline
            )
            location = got_headers.get("location")
            if status not in _REDIRECT_STATUSES or location is None:
                return GuardedResponse(
                    status=status,
                    headers=got_headers,
                    body=body,
                    url=str(target),
                    address=address,
                    elapsed=time.monotonic() - start,
                )
            if redirects >= self.policy.max_redirects:
                raise OutboundRefused(
                    "too-many-redirects", f"{url} redirected more than {self.policy.max_redirects} times"
                )
            redirects += 1
            try:
                following, addresses = self._target(target.join(location), deadline)
            except (httpx.InvalidURL, ValueError) as exc:
                raise OutboundRefused(
                    "redirect-refused", f"{target} redirected to an invalid location {location[:200]!r}"
                ) from exc
            except OutboundRefused as exc:
                if exc.reason == "timeout":
                    raise
                raise OutboundRefused(
                    "redirect-refused",
                    f"{target} redirected to {location[:200]}, which was refused: {exc.message}",
                    underlying=exc.reason,
                ) from exc
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, json, content = "GET", None, None
                for name in ("content-type", "content-length", "transfer-encoding"):
                    sent_headers.pop(name, None)
            if (following.scheme, following.host, following.port) != (target.scheme, target.host, target.port):
                for name in _CREDENTIAL_HEADERS:
                    sent_headers.pop(name, None)
            target = following

    def _hop(
        self,
        method: str,
        url: httpx.URL,
        addresses: list[str],
        headers: httpx.Headers,
        json: Any,
        content: bytes | None,
        deadline: float,
    ) -> tuple[int, httpx.Headers, bytes, str]:
        """One request to checked addresses (tried in order until one connects); the body is read
        unless the answer is a redirect."""
        policy = self.policy
        host = url.raw_host.decode("ascii")
        hop_headers = httpx.Headers(headers)
        hop_headers["Host"] = url.netloc.decode("ascii")
        hop_headers["Accept-Encoding"] = "identity"
        if not self.keep_alive:
            hop_headers["Connection"] = "close"
        hop_headers.setdefault("User-Agent", _USER_AGENT)
        failures: list[str] = []
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OutboundRefused("timeout", f"{url} did not answer within {policy.total_timeout:g} s")
            watchdog = _Watchdog(remaining)
            extensions: dict[str, Any] = {
                "timeout": httpx.Timeout(
                    connect=min(policy.connect_timeout, remaining),
                    read=min(policy.read_timeout, remaining),
                    write=min(policy.read_timeout, remaining),
                    pool=min(policy.connect_timeout, remaining),
                ).as_dict(),
                "trace": watchdog.trace,
            }
            if _parse_ip(host) is None:
                # TLS: send the host name as SNI and verify the certificate against it, not the IP.
                extensions["sni_hostname"] = host
            request = httpx.Request(
                method,
                url.copy_with(host=address, userinfo=b""),
                headers=hop_headers,
                json=json,
                content=content,
                extensions=extensions,
            )
            try:
                try:
                    response = self._transport_for(host).handle_request(request)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    failures.append(f"{address}: {str(exc) or type(exc).__name__}")
                    continue
                except httpx.TransportError as exc:
                    raise self._broken(url, exc, watchdog, deadline) from exc
                try:
                    if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                        return response.status_code, response.headers, b"", address
                    body = self._read(url, response, watchdog, deadline)
                    return response.status_code, response.headers, body, address
                finally:
                    response.close()
            finally:
                watchdog.cancel()
        if deadline - time.monotonic() <= 0:
            raise OutboundRefused("timeout", f"{url} did not answer within {policy.total_timeout:g} s")
        raise OutboundRefused("connect-failed", f"could not connect to {url} ({'; '.join(failures)})")

    def _read(self, url: httpx.URL, response: httpx.Response, watchdog: _Watchdog, deadline: float) -> bytes:
        limit = self.policy.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise OutboundRefused("too-large", f"{url} announced {declared} bytes; the limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_raw():
                size += len(chunk)
                if size > limit:
                    raise OutboundRefused("too-large", f"{url} sent more than {limit} bytes")
                if time.monotonic() > deadline:
                    raise self._late(url)
                chunks.append(chunk)
        except httpx.TransportError as exc:
            raise self._broken(url, exc, watchdog, deadline) from exc
        if watchdog.fired:  # the socket was cut: an end-of-body now may be a truncated body
            raise self._late(url)
        return b"".join(chunks)

    def _late(self, url: httpx.URL) -> OutboundRefused:
        return OutboundRefused("timeout", f"{url} did not answer within {self.policy.total_timeout:g} s")

    def _broken(
        self, url: httpx.URL, exc: httpx.TransportError, watchdog: _Watchdog, deadline: float
    ) -> OutboundRefused:
        if isinstance(exc, httpx.TimeoutException) or watchdog.fired or time.monotonic() >= deadline:
            return self._late(url)
        return OutboundRefused("bad-response", f"{url} broke off or answered malformed HTTP: {exc}")
