"""Deployment identity end to end: real llama.cpp chatbots over HTTP, the real verifier, a real anvil.

honest operator -> verified; unauthorised key -> mismatch; authorisation revoked or expired ->
mismatch; release revoked -> revoked; replayed challenge answer -> refused; altered receipt ->
refused; no identity endpoint -> unverified. Also: the official `openai` client chats with the
chatbot, and a kept response proves later which release answered (`modelseal receipt verify`).
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
from verifier.app import create_app
from verifier.settings import VerifierSettings

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")


def _wait_http(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"server exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


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
        _wait_http(url + "/.well-known/model-identity", proc)
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


def test_no_identity_endpoint_is_unverified(env: Env) -> None:
    v = env.check(env.plain_llama())
    assert v["verdict"] == "unverified", v
    assert statuses(v)["identity"] == "fail"


class _Proxy:
    """A local HTTP proxy in front of the honest chatbot that misbehaves on purpose."""

    def __init__(self, upstream: str, mode: str) -> None:
        self.upstream, self.mode, self.recorded = upstream, mode, None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                resp = httpx.request(
                    method,
                    proxy.upstream + self.path,
                    content=body,
                    headers={"content-type": "application/json"},
                    timeout=60,
                )
                content, headers = resp.content, dict(resp.headers)
                if self.path.endswith("/challenge") and proxy.mode == "replay":
                    if proxy.recorded is None:
                        proxy.recorded = content  # the first answer is kept and replayed ever after
                    content = proxy.recorded
                if self.path.endswith("/chat/completions") and proxy.mode == "tamper":
                    content = content.replace(b'"content":"', b'"content":"Buy crypto! ')
                self.send_response(resp.status_code)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
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


def test_replayed_challenge_answer_is_refused(env: Env, honest: str) -> None:
    proxy = _Proxy(honest, "replay")
    try:
        first = env.check(proxy.url)  # records a genuine answer to the first nonce
        assert statuses(first)["challenge"] == "pass"
        replayed = env.check(proxy.url)
        assert statuses(replayed)["challenge"] == "fail" and replayed["verdict"] == "mismatch"
        detail = next(c["detail"] for c in replayed["checks"] if c["name"] == "challenge")
        assert "another nonce" in detail
    finally:
        proxy.server.shutdown()


def test_altered_response_fails_its_receipt(env: Env, honest: str) -> None:
    proxy = _Proxy(honest, "tamper")
    try:
        v = env.check(proxy.url)
        assert statuses(v)["receipt"] == "fail" and v["verdict"] == "mismatch"
    finally:
        proxy.server.shutdown()


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


def test_revoked_release_is_revoked(env: Env, honest: str) -> None:
    env.client.revoke(REL, "withdrawn by its publisher")
    v = env.check(honest)
    assert v["verdict"] == "revoked", v
