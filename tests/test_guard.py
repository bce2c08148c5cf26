"""The guarded outbound client: what it refuses, where it refuses it, and the limits it keeps.

Traffic goes only to servers these tests start on 127.0.0.1. Refusals of private, link-local and
metadata targets are checked at the decision point; the autouse ``connections`` fixture records
every socket connect and fails the test on any connect (or DNS lookup) that would leave loopback.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.errors import ModelsealError
from verifier.errors import REASONS, OutboundRefused
from verifier.guard import GuardedClient, GuardPolicy
from verifier.settings import VerifierSettings

LOOPBACK = GuardPolicy(allow_loopback=True)

# --- no traffic beyond loopback -----------------------------------------------------------


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every IP a socket connects to during the test; a non-loopback connect fails the test."""
    seen: list[str] = []
    escaped: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(str(address[0]).split("%")[0])
            seen.append(str(ip))
            if not ip.is_loopback and not (ip.version == 6 and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback):
                escaped.append(str(ip))
                pytest.fail(f"the test tried to connect to {ip}")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            if text != "localhost":
                escaped.append(text)
                pytest.fail(f"the test tried to resolve {text!r} through DNS")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen
    assert not escaped, f"outbound attempts beyond loopback: {escaped}"


def resolver(table: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def refusal(client: GuardedClient, url: str, **kwargs: Any) -> OutboundRefused:
    with pytest.raises(OutboundRefused) as caught:
        client.request("GET", url, **kwargs)
    return caught.value


# --- local servers ------------------------------------------------------------------------

STOP = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route(self) -> None:
        path, _, query = self.path.partition("?")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        received = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if path == "/ok":
                self.send(200, b"hello", {"Content-Type": "text/plain"})
            elif path == "/echo":
                seen = {"method": self.command, "path": self.path, "body": received.decode(), **self.headers}
                self.send(200, json.dumps(seen).encode(), {"Content-Type": "application/json"})
            elif path == "/redirect":
                self.send(int(params.get("code", "302")), b"", {"Location": params["to"]})
            elif path.startswith("/hops/"):
                left = int(path.rsplit("/", 1)[1])
                if left == 0:
                    self.send(200, b"arrived")
                else:
                    self.send(302, b"", {"Location": f"/hops/{left - 1}"})
            elif path == "/endless":
                self.send_response(200)
                self.send_header("Connection", "close")  # no length: the body runs until the socket closes
                self.end_headers()
                while not STOP.is_set():
                    self.wfile.write(b"x" * 65536)
            elif path == "/slow":
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    if STOP.wait(0.5):
                        return
            elif path == "/late-then-silent":
                STOP.wait(0.4)
                self.send_response(200)
                self.send_header("Content-Length", "10")
                self.end_headers()
                self.wfile.flush()
                STOP.wait(10)
            elif path == "/silent":
                STOP.wait(10)
            elif path == "/garbage":
                self.wfile.write(b"this is not HTTP\r\n\r\n")
                self.close_connection = True
            else:
                self.send(404, b"no such route")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


def serve(server: ThreadingHTTPServer) -> Iterator[int]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        STOP.set()
        server.shutdown()
        server.server_close()
        STOP.clear()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))


@pytest.fixture(scope="module")
def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the decision point -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%lo", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("2001:db8::1", "reserved"),
        ("::127.0.0.1", "reserved"),
    ],
)
def test_each_forbidden_address_is_refused_with_its_own_reason(ip: str, reason: str) -> None:
    with pytest.raises(OutboundRefused) as caught:
        GuardedClient(GuardPolicy()).check_address(ip)
    assert caught.value.reason == reason
    assert ip.split("%")[0] in caught.value.message


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_pass_the_check(ip: str) -> None:
    GuardedClient(GuardPolicy()).check_address(ip)  # the decision only: nothing is contacted


def test_allow_loopback_opens_loopback_and_nothing_else() -> None:
    client = GuardedClient(LOOPBACK)
    for ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        client.check_address(ip)
    for ip, reason in (("10.0.0.1", "private"), ("169.254.169.254", "metadata"), ("0.0.0.0", "unspecified")):
        with pytest.raises(OutboundRefused) as caught:
            client.check_address(ip)
        assert caught.value.reason == reason


def test_no_setting_opens_metadata_or_link_local() -> None:
    client = GuardedClient(GuardPolicy(allow_loopback=True, allow_private=True))
    for ip in ("10.0.0.1", "172.31.255.255", "100.64.0.1", "fd12::1"):
        client.check_address(ip)
    for ip, reason in (
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.0.5", "link-local"),
    ):
        with pytest.raises(OutboundRefused) as caught:
            client.check_address(ip)
        assert caught.value.reason == reason


def test_a_non_address_is_refused() -> None:
    with pytest.raises(OutboundRefused) as caught:
        GuardedClient(GuardPolicy()).check_address("example.com")
    assert caught.value.reason == "no-host"


# --- refused before any connection ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/", "loopback"),
        ("http://[::1]:9/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.0.1/", "private"),
        ("https://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://[::ffff:127.0.0.1]:8000/", "loopback"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:70/", "scheme"),
        ("http:///no-host", "no-host"),
        ("http://", "no-host"),
    ],
)
def test_forbidden_urls_are_refused_before_connecting(url: str, reason: str, connections: list[str]) -> None:
    calls: list[str] = []
    assert refusal(GuardedClient(GuardPolicy(), resolver=resolver({}, calls)), url).reason == reason
    assert connections == []
    assert calls == []  # IP literals are checked as they are, without a lookup


def test_a_name_resolving_to_loopback_is_refused(connections: list[str]) -> None:
    client = GuardedClient(GuardPolicy(), resolver=resolver({"innocent.example": ["127.0.0.1"]}))
    refused = refusal(client, "http://innocent.example/v1/identity")
    assert refused.reason == "loopback"
    assert "innocent.example" in refused.message
    assert connections == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(connections: list[str]) -> None:
    table = {"mixed.example": ["93.184.216.34", "2606:2800:220:1::1", "10.1.2.3"]}
    client = GuardedClient(GuardPolicy(), resolver=resolver(table))
    assert refusal(client, "https://mixed.example/").reason == "private"
    with pytest.raises(OutboundRefused) as caught:
        client.resolve("mixed.example", 443)
    assert caught.value.reason == "private"
    assert connections == []


def test_odd_spellings_of_loopback_are_caught_after_resolution(connections: list[str]) -> None:
    # Not IP literals to the URL parser, so they go to the resolver, and its answer is checked.
    table = {"2130706433": ["127.0.0.1"], "0x7f.1": ["127.0.0.1"], "localhost.": ["::1"]}
    client = GuardedClient(GuardPolicy(), resolver=resolver(table))
    for url in ("http://2130706433/", "http://0x7f.1/", "http://localhost./"):
        assert refusal(client, url).reason == "loopback"
    assert connections == []


def test_the_default_resolver_is_checked_too() -> None:
    with pytest.raises(OutboundRefused) as caught:
        GuardedClient(GuardPolicy()).resolve("localhost", 80)  # /etc/hosts, no DNS traffic
    assert caught.value.reason == "loopback"


@pytest.mark.parametrize(
    "answer",
    [socket.gaierror(socket.EAI_NONAME, "Name or service not known"), [], ["not-an-address"]],
)
def test_resolution_failures_are_dns_failed(answer: Any, connections: list[str]) -> None:
    def resolve(host: str, port: int) -> list[str]:
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    assert refusal(GuardedClient(GuardPolicy(), resolver=resolve), "http://nowhere.example/").reason == "dns-failed"
    assert connections == []


# --- the happy path -------------------------------------------------------------------------


def test_an_allowed_loopback_server_answers(base: str, connections: list[str]) -> None:
    with GuardedClient(LOOPBACK) as client:
        response = client.request("GET", f"{base}/ok")
    assert (response.status, response.body) == (200, b"hello")
    assert response.headers["content-type"] == "text/plain"
    assert response.address == "127.0.0.1"
    assert response.url == f"{base}/ok"
    assert 0 < response.elapsed < 5
    assert connections == ["127.0.0.1"]


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(port: int, connections: list[str]) -> None:
    calls: list[str] = []
    client = GuardedClient(LOOPBACK, resolver=resolver({"chatbot.test": ["127.0.0.1"]}, calls))
    response = client.request("POST", f"http://chatbot.test:{port}/echo", json={"challenge": "n0nce"})
    seen = json.loads(response.body)
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"challenge": "n0nce"}
    assert seen["Host"] == f"chatbot.test:{port}"
    assert seen["Accept-Encoding"] == "identity"
    assert response.url == f"http://chatbot.test:{port}/echo"
    assert response.address == "127.0.0.1"
    assert calls == ["chatbot.test"]
    assert connections == ["127.0.0.1"]


def test_the_name_is_resolved_once_so_rebinding_cannot_swap_the_address(port: int, connections: list[str]) -> None:
    """A resolver that answers loopback once, then the metadata address: only the first answer is used."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    response = GuardedClient(LOOPBACK, resolver=rebinding).request("GET", f"http://rebind.test:{port}/ok")
    assert response.status == 200
    assert calls == ["rebind.test"]
    assert connections == ["127.0.0.1"]


def test_the_next_checked_address_is_tried_when_one_refuses(port: int, connections: list[str]) -> None:
    client = GuardedClient(LOOPBACK, resolver=resolver({"two.test": ["127.0.0.2", "127.0.0.1"]}))
    response = client.request("GET", f"http://two.test:{port}/ok")
    assert response.address == "127.0.0.1"
    assert connections == ["127.0.0.2", "127.0.0.1"]  # nothing listens on 127.0.0.2


def test_proxy_environment_variables_are_ignored(
    base: str, monkeypatch: pytest.MonkeyPatch, connections: list[str]
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    assert GuardedClient(LOOPBACK).request("GET", f"{base}/ok").status == 200
    assert connections == ["127.0.0.1"]


def test_a_closed_port_is_connect_failed() -> None:
    refused = refusal(GuardedClient(LOOPBACK), f"http://127.0.0.1:{free_port()}/")
    assert refused.reason == "connect-failed"


def test_malformed_http_is_bad_response(base: str) -> None:
    assert refusal(GuardedClient(LOOPBACK), f"{base}/garbage").reason == "bad-response"


# --- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "underlying"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata"),
        ("http://metadata.test/computeMetadata/v1/", "metadata"),
        ("http://10.0.0.1/admin", "private"),
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_a_redirect_to_a_forbidden_target_is_refused_before_connecting(
    base: str, to: str, underlying: str, connections: list[str]
) -> None:
    client = GuardedClient(LOOPBACK, resolver=resolver({"metadata.test": ["169.254.169.254"]}))
    refused = refusal(client, f"{base}/redirect?to={urllib.parse.quote(to, safe='')}")
    assert (refused.reason, refused.underlying) == ("redirect-refused", underlying)
    assert connections == ["127.0.0.1"]  # the first hop only


def test_allowed_redirects_are_followed_each_hop_on_a_new_connection(base: str, connections: list[str]) -> None:
    response = GuardedClient(GuardPolicy(allow_loopback=True, max_redirects=3)).request("GET", f"{base}/hops/3")
    assert (response.status, response.body) == (200, b"arrived")
    assert response.url == f"{base}/hops/0"
    assert connections == ["127.0.0.1"] * 4


def test_too_many_redirects_are_refused(base: str, connections: list[str]) -> None:
    refused = refusal(GuardedClient(GuardPolicy(allow_loopback=True, max_redirects=3)), f"{base}/hops/4")
    assert refused.reason == "too-many-redirects"
    assert len(connections) == 4


def test_a_redirect_can_be_forbidden_altogether(base: str) -> None:
    refused = refusal(GuardedClient(GuardPolicy(allow_loopback=True, max_redirects=0)), f"{base}/hops/1")
    assert refused.reason == "too-many-redirects"


@pytest.mark.parametrize(("code", "method", "body"), [(303, "GET", ""), (302, "GET", ""), (307, "POST", '{"a":1}')])
def test_redirect_methods_follow_http_semantics(base: str, code: int, method: str, body: str) -> None:
    to = urllib.parse.quote(f"{base}/echo", safe="")
    response = GuardedClient(LOOPBACK).request("POST", f"{base}/redirect?code={code}&to={to}", json={"a": 1})
    seen = json.loads(response.body)
    assert (seen["method"], seen["body"]) == (method, body)


def test_credentials_are_dropped_when_a_redirect_leaves_the_origin(port: int) -> None:
    client = GuardedClient(LOOPBACK, resolver=resolver({"elsewhere.test": ["127.0.0.1"]}))
    auth = {"Authorization": "Bearer secret"}
    same = urllib.parse.quote(f"http://127.0.0.1:{port}/echo", safe="")
    other = urllib.parse.quote(f"http://elsewhere.test:{port}/echo", safe="")
    kept = json.loads(client.request("GET", f"http://127.0.0.1:{port}/redirect?to={same}", headers=auth).body)
    dropped = json.loads(client.request("GET", f"http://127.0.0.1:{port}/redirect?to={other}", headers=auth).body)
    assert kept["Authorization"] == "Bearer secret"
    assert "Authorization" not in dropped
    assert dropped["Host"] == f"elsewhere.test:{port}"


# --- size and time --------------------------------------------------------------------------


def test_an_endless_body_is_cut_at_the_size_limit(base: str) -> None:
    started = time.monotonic()
    refused = refusal(GuardedClient(GuardPolicy(allow_loopback=True, max_response_bytes=200_000)), f"{base}/endless")
    assert refused.reason == "too-large"
    assert time.monotonic() - started < 2


def test_an_announced_length_over_the_limit_is_refused_unread(base: str) -> None:
    refused = refusal(GuardedClient(GuardPolicy(allow_loopback=True, max_response_bytes=3)), f"{base}/ok")
    assert refused.reason == "too-large"


def test_a_slow_trickle_is_cut_at_the_total_timeout(base: str) -> None:
    policy = GuardPolicy(allow_loopback=True, read_timeout=5, total_timeout=1.5)
    started = time.monotonic()
    assert refusal(GuardedClient(policy), f"{base}/slow").reason == "timeout"
    assert 1.4 < time.monotonic() - started < 2.2


def test_silence_after_late_headers_is_cut_at_the_deadline_not_the_read_timeout(base: str) -> None:
    policy = GuardPolicy(allow_loopback=True, read_timeout=5, total_timeout=1.0)
    started = time.monotonic()
    assert refusal(GuardedClient(policy), f"{base}/late-then-silent").reason == "timeout"
    assert time.monotonic() - started < 1.3


def test_a_silent_server_is_a_timeout(base: str) -> None:
    policy = GuardPolicy(allow_loopback=True, read_timeout=0.5, total_timeout=5)
    started = time.monotonic()
    assert refusal(GuardedClient(policy), f"{base}/silent").reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_a_slow_resolver_is_a_timeout(connections: list[str]) -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(1.0)
        return ["127.0.0.1"]

    policy = GuardPolicy(allow_loopback=True, total_timeout=0.3)
    started = time.monotonic()
    assert refusal(GuardedClient(policy, resolver=slow), "http://slow-dns.test/").reason == "timeout"
    assert time.monotonic() - started < 0.8
    assert connections == []


# --- TLS: the certificate is checked against the host name, not the IP ----------------------


def _tls_material(tmp: Path, name: str) -> tuple[str, Path, Path]:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelseal test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "leaf.pem", tmp / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str, list[str | None]]]:
    ca_pem, cert_file, key_file = _tls_material(tmp_path_factory.mktemp("tls"), "chatbot.test")
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sslsock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for port in serve(server):
        yield port, ca_pem, names


def test_https_sends_the_host_name_as_sni_and_verifies_the_certificate_for_it(
    tls_server: tuple[int, str, list[str | None]], connections: list[str]
) -> None:
    port, ca_pem, names = tls_server
    client = GuardedClient(
        LOOPBACK,
        resolver=resolver({"chatbot.test": ["127.0.0.1"]}),
        ssl_context=ssl.create_default_context(cadata=ca_pem),
    )
    response = client.request("GET", f"https://chatbot.test:{port}/echo")
    assert response.status == 200
    assert json.loads(response.body)["Host"] == f"chatbot.test:{port}"
    assert names[-1] == "chatbot.test"
    assert response.address == "127.0.0.1"
    assert connections == ["127.0.0.1"]


def test_https_refuses_a_certificate_for_another_name(tls_server: tuple[int, str, list[str | None]]) -> None:
    port, ca_pem, _ = tls_server
    client = GuardedClient(
        LOOPBACK,
        resolver=resolver({"impostor.test": ["127.0.0.1"]}),
        ssl_context=ssl.create_default_context(cadata=ca_pem),
    )
    refused = refusal(client, f"https://impostor.test:{port}/ok")
    assert refused.reason == "connect-failed"
    assert "certificate" in refused.message.lower()


# --- the error and the settings -------------------------------------------------------------


def test_refusals_are_modelseal_errors_with_a_hint_for_every_reason() -> None:
    refused = OutboundRefused("metadata", "169.254.169.254 is a cloud metadata address")
    assert isinstance(refused, ModelsealError)
    assert refused.exit_code == 2
    assert refused.diagnostics().startswith("169.254.169.254 is a cloud metadata address\nhint: ")
    for reason in REASONS:
        assert OutboundRefused(reason, "x").hint


def test_the_policy_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GuardPolicy.from_settings(VerifierSettings()) == GuardPolicy()
    monkeypatch.setenv("MODELSEAL_ALLOW_LOOPBACK_TARGETS", "true")
    policy = GuardPolicy.from_settings(VerifierSettings())
    assert (policy.allow_loopback, policy.allow_private) == (True, False)


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        GuardPolicy(total_timeout=0)
    with pytest.raises(ValueError):
        GuardPolicy(schemes=frozenset({"http", "ftp"}))


def test_keep_alive_reuses_one_connection_per_host_name_never_across_names(connections: list[str], port: int) -> None:
    """Behavioural probes reuse their connection, like an OpenAI client; two host names at one
    address never share a connection (its TLS session was verified for one name only)."""
    table = {"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]}
    policy = GuardPolicy(allow_loopback=True)
    pooled = GuardedClient(policy, resolver=resolver(table), keep_alive=True)
    for _ in range(3):
        assert pooled.request("GET", f"http://a.test:{port}/ok").status == 200
    assert len(connections) == 1  # three requests, one connection
    echoed = json.loads(pooled.request("GET", f"http://a.test:{port}/echo").body)
    assert echoed.get("Connection", "keep-alive").lower() != "close"
    pooled.request("GET", f"http://b.test:{port}/ok")
    assert len(connections) == 2  # another name: its own connection
    plain = GuardedClient(policy, resolver=resolver(table))
    for _ in range(2):
        plain.request("GET", f"http://a.test:{port}/ok")
    assert len(connections) == 4  # the default closes after each request
