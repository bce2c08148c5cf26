"""Deployment identity end to end: real llama.cpp chatbots over HTTP, the real verifier, a real anvil.

honest operator -> verified (also behind its own reverse proxy); unauthorised key -> mismatch;
authorisation revoked, expired (by chain time) or pinned to another origin -> mismatch; release
revoked -> revoked; a site relaying to the genuine operator -> mismatch (API, page and CLI);
replayed challenge answer, replayed or stale receipt, altered receipt -> refused; no identity
endpoint or an earlier protocol version -> unverified. Also: the official `openai` client chats
with the chatbot, and a kept response proves later which release answered (`modelseal receipt
verify`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import free_port, throwaway_anvil
from registry.hashing.model import hash_model
from registry.identity.serve import start_plain_llama
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key, Keystore
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from tools.waiting import wait_http
from verifier.app import create_app
from verifier.settings import VerifierSettings

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")


class Env:
    """A dedicated anvil with the SmolLM2 release, operator keys, chatbots and the verifier."""

    def __init__(self, root: Path, model: Path) -> None:
        self.root, self.model = root, model
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stack = contextlib.ExitStack()
        self.rpc = self.stack.enter_context(throwaway_anvil(log=root / "anvil.log"))
        w3 = Web3(Web3.HTTPProvider(self.rpc))
        self.client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[1]))
        publisher = Ed25519Key.generate()
        self.client.claim_namespace("smollm")
        self.client.add_signer("smollm", publisher.did)
        md = hash_model(model)
        manifest = sign_manifest(Manifest.create(REL, publisher.did, md), publisher)
        self.client.publish(REL, manifest.digest.value, md.weights.value, publisher.did)
        self.keys = Keystore(root / "keys")
        self.honest, self.stranger = Ed25519Key.generate(), Ed25519Key.generate()
        self.keys.save("honest", self.honest)
        self.keys.save("stranger", self.stranger)
        self.client.authorize_operator("smollm", REL.model, None, self.honest.did, self.client.now() + 10**6)
        self.env = {
            **os.environ,
            "MODELSEAL_RPC_URL": self.rpc,
            "MODELSEAL_REGISTRY": self.client.address,
            "MODELSEAL_KEYS": str(root / "keys"),
            "MODELSEAL_HOME": str(root / "home"),
        }
        self.env.pop("MODELSEAL_PRIVATE_KEY", None)
        self.settings = VerifierSettings(
            home=root / "verifier",
            rpc_url=self.rpc,
            registry=self.client.address,
            deploy_block=self.client.deploy_block,
            index_in_background=False,
            allow_loopback_targets=True,
        )
        self.app = create_app(self.settings)
        self.http = TestClient(self.app)

    def serve(self, key: str, *extra: str) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "registry", "serve", str(self.model), "--release", str(REL), "--key", key]
        proc = subprocess.Popen([*cmd, "--port", str(port), *extra], env=self.env, stderr=subprocess.PIPE)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/.well-known/model-identity", proc)
        return url

    def plain_llama(self) -> str:
        url, proc = start_plain_llama(self.model, wait=90)
        self.procs.append(proc)
        return url

    def check(self, url: str, release: str | None = str(REL)) -> dict[str, Any]:
        self.app.state.services.indexer.sync_once()
        params = {"url": url, **({"release": release} if release else {})}
        resp = self.http.get("/v1/check", params=params)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.stack.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, smollm_model: Path) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("identity"), smollm_model)
    try:
        yield e
    finally:
        e.close()


@pytest.fixture(scope="module")
def honest(env: Env) -> str:
    return env.serve("honest")


def statuses(verdict: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in verdict["checks"]}


def test_honest_operator_is_verified(env: Env, honest: str) -> None:
    v = env.check(honest)
    assert v["verdict"] == "verified", v
    assert statuses(v) | {"release": "pass"} == {
        "release": "pass",
        "not-revoked": "pass",
        "identity": "pass",
        "challenge": "pass",
        "chain": "pass",
        "receipt": "pass",
        "behaviour": "skip",  # no behavioural check was started for this endpoint
    }
    without_claimed_release = env.check(honest, release=None)
    assert without_claimed_release["verdict"] == "verified" and without_claimed_release["release"] == str(REL)
    for known_as in (honest + "/v1", honest + "/v1/", honest + "/v1/chat/completions"):  # URLs apps configure
        assert env.check(known_as)["verdict"] == "verified", known_as


def test_cli_check_agrees(env: Env, honest: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "registry", "check", honest, "--allow-loopback", "--json"],
        env=env.env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "verified"
    refused = subprocess.run(
        [sys.executable, "-m", "registry", "check", honest, "--json"], env=env.env, capture_output=True, text=True
    )
    assert refused.returncode == 10 and "loopback" in refused.stdout
    text = subprocess.run(
        [sys.executable, "-m", "registry", "check", honest, "--allow-loopback"], env=env.env, capture_output=True,
        text=True,
    )  # fmt: skip
    lines = text.stdout.splitlines()
    assert lines[0].startswith("verified ") and "asked chain 31337: development chain (anvil / Hardhat)" in text.stdout
    # the warnings come right under the verdict, before the chain and the checks
    assert lines[1].startswith("  WARNING [behaviour-not-established] no behavioural check")
    assert lines[2].startswith("  WARNING [dev-chain] these facts come from chain 31337, a development chain")


def test_openai_client_chats_and_receipt_proves_the_release(env: Env, honest: str, tmp_path: Path) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=honest + "/v1", api_key="unused")
    raw = client.chat.completions.with_raw_response.create(
        model=REL.model, messages=[{"role": "user", "content": "What is 2+2?"}], max_tokens=8, temperature=0
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    receipt = raw.headers["model-receipt"]
    (tmp_path / "req.json").write_bytes(raw.http_request.content)
    (tmp_path / "resp.json").write_bytes(raw.http_response.content)
    (tmp_path / "receipt.txt").write_text(receipt)
    cmd = [sys.executable, "-m", "registry", "receipt", "verify", "--receipt", f"@{tmp_path / 'receipt.txt'}"]
    args = [*cmd, "--request", str(tmp_path / "req.json"), "--response", str(tmp_path / "resp.json"), "--json"]
    ok = subprocess.run(args, env=env.env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["release"] == str(REL) and result["operator"] == env.honest.did
    assert result["chain"]["weightsMatch"] and result["chain"]["operatorAuthorisedNow"]
    (tmp_path / "resp.json").write_bytes(raw.http_response.content.replace(b'"content":"', b'"content":"X'))
    altered = subprocess.run(args, env=env.env, capture_output=True, text=True)
    assert altered.returncode != 0 and "response body is not the one this receipt signed" in altered.stderr


def test_streamed_answer_carries_a_receipt_after_done(env: Env, honest: str) -> None:
    from registry.identity.protocol import split_sse_receipt, verify_receipt

    body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "stream": True}).encode()
    resp = httpx.post(
        honest + "/v1/chat/completions", content=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert resp.headers["model-receipt"] == "sse"
    covered, header = split_sse_receipt(resp.content)
    assert b"data: [DONE]" in covered
    assert verify_receipt(header, body, covered).operator == env.honest.did


def test_receipt_verify_as_its_help_shows_it(env: Env, honest: str, tmp_path: Path) -> None:
    """The two examples of `modelseal receipt verify --help`: saved headers (as `curl -D` writes
    them) with a whole answer, and a kept stream with no --receipt at all."""
    base = [sys.executable, "-m", "registry", "receipt", "verify", "--json", "--offline"]
    for stream in (False, True):
        body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream": stream})
        (tmp_path / "req.json").write_bytes(body.encode())
        resp = httpx.post(
            honest + "/v1/chat/completions", content=body, headers={"content-type": "application/json"}, timeout=60
        )
        (tmp_path / "resp.txt").write_bytes(resp.content)
        saved = "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items())
        (tmp_path / "headers.txt").write_text(f"HTTP/1.1 {resp.status_code} OK\r\n{saved}\r\n")
        files = ["--request", str(tmp_path / "req.json"), "--response", str(tmp_path / "resp.txt")]
        receipt = [] if stream else ["--receipt", f"@{tmp_path / 'headers.txt'}"]
        done = subprocess.run([*base, *receipt, *files], env=env.env, capture_output=True, text=True)
        assert done.returncode == 0, (stream, done.stderr)
        assert json.loads(done.stdout)["operator"] == env.honest.did
        (tmp_path / "req.json").write_bytes(body.replace("Hi", "Ho").encode())  # another request: refused
        other = subprocess.run([*base, *receipt, *files], env=env.env, capture_output=True, text=True)
        assert other.returncode != 0 and "request body is not the one" in other.stderr, other.stderr


def test_unauthorised_key_is_a_mismatch(env: Env) -> None:
    impostor = env.serve("stranger", "--unsafe-dev")
    v = env.check(impostor)
    assert v["verdict"] == "mismatch", v
    chain = next(c for c in v["checks"] if c["name"] == "chain")
    assert chain["status"] == "fail" and "not an authorised operator" in chain["detail"]


def test_serve_refuses_to_start_unauthorised_without_unsafe_dev(env: Env) -> None:
    cmd = [sys.executable, "-m", "registry", "serve", str(env.model), "--release", str(REL), "--key", "stranger"]
    proc = subprocess.run([*cmd, "--port", str(free_port())], env=env.env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4 and "is not authorised to serve" in proc.stderr
    notes = env.model.parent / "notes.txt"  # not the weights at all: the hint is about the file, not the key
    notes.write_text("not a model\n")
    wrong = subprocess.run(
        [*cmd[:4], str(notes), *cmd[5:], "--port", str(free_port())], env=env.env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 1 and "is not the weights of" in wrong.stderr, wrong.stderr
    assert "serve the file that was released" in wrong.stderr and "operator authorize" not in wrong.stderr


def test_no_identity_endpoint_is_unverified(env: Env) -> None:
    v = env.check(env.plain_llama())
    assert v["verdict"] == "unverified", v
    assert statuses(v)["identity"] == "fail"


class _Proxy:
    """A local reverse proxy in front of a chatbot. ``transparent`` forwards every request and
    answer byte for byte and holds no key (a fake site relaying to the genuine operator); the other
    modes misbehave on purpose. ``upstream`` and ``mode`` may change between checks."""

    def __init__(self, upstream: str | None, mode: str) -> None:
        self.upstream, self.mode = upstream, mode
        self.recorded: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.delay = 0.0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                assert proxy.upstream is not None
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                mode, path = proxy.mode, self.path
                if mode == "rewrite" and path.endswith("/challenge"):  # ask the operator for its own origin
                    doc = json.loads(body)
                    body = json.dumps({**doc, "origin": proxy.upstream}).encode()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                resp = httpx.request(method, proxy.upstream + path, content=body, headers=headers, timeout=60)
                status, content, out = resp.status_code, resp.content, dict(resp.headers)
                if mode == "rewrite" and path.endswith("/model-identity"):  # claim to serve here too
                    doc = json.loads(content)
                    content = json.dumps({**doc, "origins": [*doc["origins"], proxy.url]}).encode()
                if mode == "downgrade" and path.endswith("/model-identity"):
                    doc = {k: v for k, v in json.loads(content).items() if k != "origins"}
                    content = json.dumps({**doc, "type": "modelseal/identity/v1"}).encode()
                if mode in ("replay", "replay-receipt"):
                    kind = "challenge" if path.endswith("/challenge") else "chat" if "completions" in path else None
                    if kind == ("challenge" if mode == "replay" else "chat"):
                        # the first answer is kept and given again to every later request
                        status, out, content = proxy.recorded.setdefault(kind, (status, out, content))
                if mode == "busy" and b'"logprobs"' in body:  # refuses exactly the probes' requests
                    status, content, out = 429, b'{"error": "rate limited"}', {"content-type": "application/json"}
                if mode == "deep" and path.endswith(("/model-identity", "/challenge")):  # 200 KB, 100,000 levels
                    content = b"[" * 100_000 + b"]" * 100_000
                if mode == "deep-challenge" and path.endswith("/challenge"):
                    content = b"[" * 8000 + b"]" * 8000  # under the size cap: the depth limit refuses it
                if mode == "tamper" and path.endswith("/chat/completions"):
                    content = content.replace(b'"content":"', b'"content":"Buy crypto! ')
                if path.endswith("/chat/completions"):
                    time.sleep(proxy.delay)
                self.send_response(status)
                for k, v in out.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def relay(env: Env, honest: str) -> Iterator[_Proxy]:
    """A fake site at its own address relaying to the genuine operator (which does not serve there)."""
    proxy = _Proxy(honest, "transparent")
    yield proxy
    proxy.server.shutdown()


@pytest.fixture(scope="module")
def fronted(env: Env) -> Iterator[_Proxy]:
    """The genuine operator behind its own reverse proxy: served with --public-url PROXY, so the
    proxy's address is one it serves at (and the verifier is expected to say verified)."""
    proxy = _Proxy(None, "transparent")
    proxy.upstream = env.serve("honest", "--public-url", proxy.url)
    yield proxy
    proxy.server.shutdown()


def _detail(verdict: dict[str, Any], name: str) -> str:
    return str(next(c["detail"] for c in verdict["checks"] if c["name"] == name))


def test_a_transparent_relay_is_a_mismatch_in_api_page_and_cli(env: Env, honest: str, relay: _Proxy) -> None:
    """A site that holds no key and forwards every byte to the genuine, authorised operator."""
    api = env.check(relay.url)
    assert api["verdict"] == "mismatch", api
    assert statuses(api)["challenge"] == "fail" and "chain" not in statuses(api)
    assert f"relayed from the genuine operator at {honest}" in _detail(api, "challenge")
    page = env.http.get("/check", params={"url": relay.url, "release": str(REL)})
    assert page.status_code == 200
    assert '<p class="verdict" id="verdict">mismatch</p>' in page.text
    assert f"relayed from the genuine operator at {honest}" in page.text
    code, cli = _cli_check(env, relay.url)
    assert (code, cli["verdict"]) == (1, "mismatch")
    assert f"relayed from the genuine operator at {honest}" in _detail(cli, "challenge")


def test_receipts_passed_through_a_relay_still_prove_which_release_answered(
    env: Env, relay: _Proxy, tmp_path: Path
) -> None:
    """What a reseller relaying the operator's answers unchanged gives its users: each response
    stays provable with `modelseal receipt verify`, whatever the address's identity verdict."""
    request = json.dumps({"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 6}).encode()
    resp = httpx.post(
        relay.url + "/v1/chat/completions", content=request, headers={"content-type": "application/json"}, timeout=60
    )
    (tmp_path / "req.json").write_bytes(request)
    (tmp_path / "resp.json").write_bytes(resp.content)
    cmd = [sys.executable, "-m", "registry", "receipt", "verify", "--receipt", resp.headers["model-receipt"]]
    args = [*cmd, "--request", str(tmp_path / "req.json"), "--response", str(tmp_path / "resp.json"), "--json"]
    ok = subprocess.run(args, env=env.env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["release"] == str(REL) and result["operator"] == env.honest.did
    assert 0 <= result["ageSeconds"] < 60 and result["chain"]["operatorAuthorisedNow"]


def test_a_relay_that_rewrites_the_origin_gets_an_answer_for_the_wrong_address(
    env: Env, honest: str, relay: _Proxy
) -> None:
    relay.mode = "rewrite"  # lists itself in the claim, asks the operator to sign for the operator's own origin
    v = env.check(relay.url)
    assert v["verdict"] == "mismatch", v
    assert f"the operator signed for {honest}" in _detail(v, "challenge")


def test_an_answer_nested_100000_levels_deep_is_refused_not_a_crash(env: Env, honest: str, relay: _Proxy) -> None:
    """Importing web3 raises the recursion limit to 100,000: a plain json.loads of this answer
    would overflow the C stack and kill the verifier (SIGSEGV) or the CLI (exit 139)."""
    relay.mode = "deep"
    api = env.check(relay.url)
    assert api["verdict"] == "unverified" and statuses(api)["identity"] == "fail", api
    assert "200,000 bytes, over the limit" in _detail(api, "identity")
    proc = subprocess.run(
        [sys.executable, "-m", "registry", "check", relay.url, "--allow-loopback", "--json"],
        env=env.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 10, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "unverified"
    fronted = _Proxy(None, "deep-challenge")
    fronted.upstream = env.serve("honest", "--public-url", fronted.url)
    try:
        api = env.check(fronted.url)
        assert api["verdict"] == "mismatch" and statuses(api)["challenge"] == "fail", api
        assert "nests 8000 levels deep, over the limit of 64" in _detail(api, "challenge")
    finally:
        fronted.server.shutdown()


def test_an_earlier_protocol_version_is_unverified_not_a_crash(env: Env, relay: _Proxy) -> None:
    relay.mode = "downgrade"
    v = env.check(relay.url)
    assert v["verdict"] == "unverified", v
    assert "modelseal/identity/v2" in _detail(v, "identity")


def test_an_operator_behind_its_own_reverse_proxy_is_verified(env: Env, fronted: _Proxy) -> None:
    fronted.mode = "transparent"
    v = env.check(fronted.url)
    assert v["verdict"] == "verified", v
    assert fronted.url in _detail(v, "challenge")


def test_replayed_challenge_answer_is_refused(env: Env, fronted: _Proxy) -> None:
    fronted.mode, fronted.recorded = "replay", {}
    first = env.check(fronted.url)  # records a genuine answer to the first nonce
    assert statuses(first)["challenge"] == "pass"
    replayed = env.check(fronted.url)
    assert statuses(replayed)["challenge"] == "fail" and replayed["verdict"] == "mismatch"
    assert "another nonce" in _detail(replayed, "challenge")


def test_a_replayed_probe_receipt_from_an_earlier_check_is_refused(env: Env, fronted: _Proxy) -> None:
    fronted.mode, fronted.recorded = "replay-receipt", {}
    first = env.check(fronted.url)  # its chat answer and receipt are recorded
    assert first["verdict"] == "verified", first
    again = env.check(fronted.url)  # a fresh question; the recorded answer and receipt come back
    assert again["verdict"] == "mismatch", again
    assert "request body is not the one this receipt signed" in _detail(again, "receipt")
    asked = [
        next(c for c in v["checks"] if c["name"] == "receipt")["evidence"]["requestSha256"] for v in (first, again)
    ]
    assert asked[0] != asked[1], "the probe's question is drawn anew for every check"


def test_a_receipt_older_than_the_window_is_refused(env: Env, fronted: _Proxy) -> None:
    strict = create_app(env.settings.model_copy(update={"home": env.root / "strict", "receipt_window_seconds": 1}))
    http = TestClient(strict)
    strict.state.services.indexer.sync_once()
    fronted.mode, fronted.delay = "transparent", 3.0  # the answer (and its receipt) arrives 3 s after signing
    try:
        v = http.get("/v1/check", params={"url": fronted.url, "release": str(REL)}).json()
    finally:
        fronted.delay = 0.0
    assert v["verdict"] == "mismatch", v
    assert "receipt's time is" in _detail(v, "receipt") and "window 1 s" in _detail(v, "receipt")


def test_altered_response_fails_its_receipt(env: Env, fronted: _Proxy) -> None:
    fronted.mode = "tamper"
    v = env.check(fronted.url)
    assert statuses(v)["receipt"] == "fail" and v["verdict"] == "mismatch"


def test_an_authorisation_pinned_to_origin_a_refuses_the_key_at_origin_b(env: Env, honest: str) -> None:
    c = env.client
    c.authorize_operator("smollm", REL.model, None, env.honest.did, c.now() + 10**6, (honest,))
    try:
        pinned = env.check(honest)
        assert pinned["verdict"] == "verified" and "pinned to this origin" in _detail(pinned, "chain")
        cmd = [sys.executable, "-m", "registry", "serve", str(env.model), "--release", str(REL), "--key", "honest"]
        refused = subprocess.run(
            [*cmd, "--port", str(free_port())], env=env.env, capture_output=True, text=True, timeout=120
        )
        assert refused.returncode == 4 and "not among the origins the publisher pinned" in refused.stderr
        copy = env.serve("honest", "--unsafe-dev")  # the same key, at another address
        v = env.check(copy)
        assert v["verdict"] == "mismatch", v
        assert f"its key is being used at {copy}" in _detail(v, "chain")
        code, cli = _cli_check(env, copy)
        assert (code, cli["verdict"]) == (1, "mismatch") and "pinned" in _detail(cli, "chain")
    finally:
        c.authorize_operator("smollm", REL.model, None, env.honest.did, c.now() + 10**6)


def test_revoked_then_expired_authorisation_is_a_mismatch(env: Env, honest: str) -> None:
    c = env.client
    c.revoke_operator("smollm", REL.model, None, env.honest.did)
    assert env.check(honest)["verdict"] == "mismatch"
    c.authorize_operator("smollm", REL.model, None, env.honest.did, c.now() + 4)
    assert env.check(honest)["verdict"] == "verified"
    time.sleep(6)
    env.client.w3.provider.make_request("evm_mine", [])
    expired = env.check(honest)
    assert expired["verdict"] == "mismatch"
    c.authorize_operator("smollm", REL.model, None, env.honest.did, c.now() + 10**6)


def _cli_check(env: Env, url: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "registry", "check", url, "--release", str(REL), "--allow-loopback", "--json"],
        env=env.env, capture_output=True, text=True,
    )  # fmt: skip
    return proc.returncode, json.loads(proc.stdout)


def test_expiry_is_judged_by_chain_time_in_service_and_cli_alike(env: Env, honest: str) -> None:
    """The chain's clock passes the operator's expiry while this machine's clock does not: the
    contract says the operator is no longer authorised, so `/v1/check` and `modelseal check` both
    say mismatch (the service used to judge by its wall clock and said verified)."""
    c = env.client
    expires = c.now() + 3600
    c.authorize_operator("smollm", REL.model, None, env.honest.did, expires)
    assert env.check(honest)["verdict"] == "verified"
    assert _cli_check(env, honest)[0] == 0
    c.w3.provider.make_request("evm_increaseTime", [7200])  # type: ignore[arg-type]
    c.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert c.now() > expires > time.time(), "chain time is past the expiry, the wall clock is not"
    assert not c.is_operator_authorized(REL, env.honest.did)  # the contract's own answer
    service = env.check(honest)
    code, cli = _cli_check(env, honest)
    for v in (service, cli):
        assert v["verdict"] == "mismatch", v
        chain = next(x for x in v["checks"] if x["name"] == "chain")
        assert chain["status"] == "fail" and "expired at chain time" in chain["detail"]
        assert chain["evidence"]["chainTime"] > expires
    assert code == 1
    assert [x["name"] for x in service["checks"]] == [x["name"] for x in cli["checks"]] + ["behaviour"]
    c.authorize_operator("smollm", REL.model, None, env.honest.did, c.now() + 10**6)


def _kept_answer(url: str, temperature: float = 0, **extra: Any) -> dict[str, str]:
    """A user's ordinary request, and what it keeps: the exact bodies and the receipt."""
    body = {"model": REL.model, "messages": [{"role": "user", "content": "Name two rivers in Europe."}],
            "max_tokens": 12, "temperature": temperature, **extra}  # fmt: skip
    request = json.dumps(body).encode()
    resp = httpx.post(url + "/v1/chat/completions", content=request, headers={"content-type": "application/json"},
                      timeout=120)  # fmt: skip
    return {"request": request.decode(), "response": resp.text, "receipt": resp.headers["model-receipt"]}


@pytest.fixture(scope="module")
def audited(env: Env, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A cheat: the authorised key and a claim of the registered weights, serving noised weights."""
    from tools.impostors import make_impostor
    from verifier.behaviour import ReferenceStore

    ReferenceStore(env.settings.home / "references").add(env.model)
    noisy = make_impostor(env.model, tmp_path_factory.mktemp("cheat") / "noise.gguf", "tensor-noise").dest
    port = free_port()
    script = Path(__file__).resolve().parent.parent / "scripts" / "impostor_chatbot.py"
    cmd = [sys.executable, str(script), str(noisy), str(env.model), str(REL), "honest", str(port)]
    env.procs.append(subprocess.Popen(cmd, env=env.env, stderr=subprocess.PIPE))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/.well-known/model-identity", env.procs[-1])
    return url


def test_a_users_kept_answer_is_audited_against_the_registered_weights(
    env: Env, honest: str, audited: str, tmp_path: Path
) -> None:
    env.app.state.services.indexer.sync_once()
    good = env.http.post("/v1/receipt-audits", json=_kept_answer(honest))
    assert good.status_code == 200 and good.json()["decision"] == "match", good.text
    assert good.json()["evidence"]["comparison"] == "exact"  # the receipt names the verifier's build
    kept = _kept_answer(audited, logprobs=True, top_logprobs=1)  # a user who asked for log-probabilities
    bad = env.http.post("/v1/receipt-audits", json=kept).json()
    assert bad["decision"] == "mismatch", bad
    evidence = bad["evidence"]
    assert evidence["receipt"]["operator"] == env.honest.did  # the operator's own signed statement
    assert evidence["receipt"]["weightsDigest"] == hash_model(env.model).weights.hex
    assert evidence["answerText"] != evidence["replayText"] or evidence["maxLogprobGap"] > 0
    warm = env.http.post("/v1/receipt-audits", json=_kept_answer(honest, temperature=0.7)).json()
    assert warm["decision"] == "not-auditable" and "temperature 0" in warm["detail"]
    forged = env.http.post("/v1/receipt-audits", json={**kept, "response": kept["response"] + " "})
    assert forged.status_code == 422 and forged.headers["content-type"].startswith("application/problem+json")
    for name in ("request", "response"):
        (tmp_path / f"{name}.json").write_text(kept[name])
    cmd = [sys.executable, "-m", "registry", "receipt", "audit", "--receipt", kept["receipt"], "--json",
           "--request", str(tmp_path / "request.json"), "--response", str(tmp_path / "response.json")]  # fmt: skip
    cli = subprocess.run(cmd, env={**env.env, "MODELSEAL_HOME": str(env.settings.home)}, capture_output=True, text=True)
    assert cli.returncode == 1 and json.loads(cli.stdout)["decision"] == "mismatch", cli.stdout + cli.stderr


def _behaviour_job(env: Env, url: str) -> dict[str, Any]:
    env.app.state.services.indexer.sync_once()
    started = env.http.post("/v1/behaviour-checks", params={"url": url, "release": str(REL)})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job: dict[str, Any] = env.http.get(started.json()["statusUrl"]).json()
        if job["state"] in ("done", "error"):
            return job
        time.sleep(0.5)
    raise AssertionError("the behavioural check did not finish")


def test_an_error_after_a_mismatch_leaves_the_check_at_mismatch(env: Env, audited: str) -> None:
    proxy = _Proxy(audited, "transparent")  # one address for both runs: history is kept per URL
    try:
        first = _behaviour_job(env, proxy.url)
        assert first["state"] == "done" and first["check"]["status"] == "fail", first
        assert first["check"]["detail"].startswith("behaves unlike the registered weights")
        proxy.mode = "busy"  # the endpoint now answers 429 to every request with logprobs
        second = _behaviour_job(env, proxy.url)
        assert second["state"] == "error" and "429" in second["error"]
        v = env.check(proxy.url)
        behaviour = next(c for c in v["checks"] if c["name"] == "behaviour")
        assert behaviour["status"] == "fail" and behaviour["evidence"]["job"] == first["id"]
        assert [r["job"] for r in behaviour["evidence"]["laterRuns"]] == [second["id"]]
        assert v["verdict"] == "mismatch"
        history = env.http.get("/v1/behaviour-checks", params={"url": proxy.url, "release": str(REL)}).json()
        assert history["reported"] == first["id"] and [r["id"] for r in history["runs"]] == [second["id"], first["id"]]
    finally:
        proxy.server.shutdown()


def test_revoked_release_is_revoked(env: Env, honest: str) -> None:
    env.client.revoke(REL, "withdrawn by its publisher")
    v = env.check(honest)
    assert v["verdict"] == "revoked", v
