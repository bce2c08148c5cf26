"""The verifier's REST API through the real app (TestClient), over a real anvil with real releases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from verifier.app import create_app
from verifier.settings import VerifierSettings

REL = ReleaseName("deepseek", "chat", "1.0.0")


class World:
    """A registry on anvil with one real published release, and the app over it."""

    def __init__(self, anvil_url: str, tmp: Path, model_dir: Path) -> None:
        w3 = Web3(Web3.HTTPProvider(anvil_url))
        self.client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[7]))
        self.regulator = RegistryClient(
            w3, self.client.address, account=Account.from_key(ANVIL_DEV_KEYS[8]), deploy_block=self.client.deploy_block
        )
        self.key = Ed25519Key.generate()
        self.client.claim_namespace("deepseek")
        self.client.add_signer("deepseek", self.key.did)
        md = hash_model(model_dir)
        self.manifest = sign_manifest(
            Manifest.create(REL, self.key.did, md, filing={"jurisdiction": "CN", "number": "Beijing-DS-2026-001"}),
            self.key,
        )
        self.client.publish(REL, self.manifest.digest.value, md.weights.value, self.key.did)
        self.operator = Ed25519Key.generate().did
        self.client.authorize_operator("deepseek", "chat", None, self.operator, self.client.now() + 3600)
        self.regulator.endorse(REL, "filing.submitted", os.urandom(32))
        self.settings = VerifierSettings(
            home=tmp / "home",
            rpc_url=anvil_url,
            registry=self.client.address,
            deploy_block=self.client.deploy_block,
            index_in_background=False,
            trust={"filing.submitted": [self.regulator.account.address], "filing.approved": []},  # type: ignore[union-attr]
        )
        self.app = create_app(self.settings)
        self.http = TestClient(self.app)
        self.sync()

    def sync(self) -> None:
        self.app.state.services.indexer.sync_once()


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


def test_health_tells_chain_and_index_state(world: World) -> None:
    body = world.http.get("/v1/health").json()
    assert body["status"] == "ok"
    assert body["chain"]["registry"] == world.client.address and body["chain"]["behind"] == 0
    assert body["chain"]["indexedBlock"] == world.client.block_number()


def test_openapi_is_published(world: World) -> None:
    spec = world.http.get("/openapi.json").json()
    assert {"/v1/check", "/v1/namespaces/{name}", "/v1/feed", "/v1/manifests"} <= set(spec["paths"])


def test_namespace_with_signers_operators_history(world: World) -> None:
    body = world.http.get("/v1/namespaces/deepseek").json()
    assert body["controller"] == world.client.account.address  # type: ignore[union-attr]
    assert [s["did"] for s in body["signers"]] == [world.key.did] and body["signers"][0]["active"]
    assert body["operators"][0]["operator"] == world.operator and body["operators"][0]["scopeKind"] == "model"
    assert [r["release"] for r in body["releases"]] == [str(REL)]
    assert {e["event"] for e in body["history"]} >= {"NamespaceClaimed", "SignerAdded", "ReleasePublished"}
    listed = world.http.get("/v1/namespaces", params={"q": "deep"}).json()["namespaces"]
    assert listed[0]["name"] == "deepseek" and listed[0]["releases"] == 1


def test_release_by_name_and_by_weights(world: World) -> None:
    body = world.http.get(f"/v1/releases/{REL}").json()
    assert body["weightsDigest"] == world.manifest.weights.digest
    assert body["manifestDigest"] == world.manifest.digest.hex
    assert body["signer"]["did"] == world.key.did and body["endorsements"][0]["trusted"] is True
    by_w = world.http.get(f"/v1/weights/{world.manifest.weights.digest}").json()
    assert [r["release"] for r in by_w["releases"]] == [str(REL)]
    problem(world.http.get("/v1/weights/" + "00" * 32), 404)
    problem(world.http.get("/v1/weights/not-hex"), 404)  # no digest, no such resource
    problem(world.http.get("/v1/releases/deepseek/chat/9.9"), 404)


def test_manifest_upload_only_when_anchored_then_served(world: World) -> None:
    doc = world.manifest.document()
    other = sign_manifest(
        Manifest.from_dict({**world.manifest.unsigned_document(), "license": "MIT"}), world.key
    ).document()
    body = problem(world.http.post("/v1/manifests", json=other), 422)
    assert "not-anchored" in body["type"]
    resp = world.http.post("/v1/manifests", json=doc)
    assert resp.status_code == 201, resp.text
    assert world.http.post("/v1/manifests", json=doc).status_code == 200  # idempotent
    served = world.http.get(f"/v1/manifests/{world.manifest.digest.hex}").json()
    assert Manifest.from_dict(served).digest == world.manifest.digest
    problem(world.http.post("/v1/manifests", json={"type": "nope"}), 422)


def test_manifest_verification(world: World) -> None:
    verdict = world.http.post("/v1/manifests/verify", json=world.manifest.document()).json()
    assert verdict["verdict"] == "verified", verdict
    assert {c["name"] for c in verdict["checks"]} >= {
        "anchored",
        "weights",
        "signatures",
        "signer-at-anchoring",
        "not-revoked",
    }
    tampered = world.manifest.document()
    tampered["license"] = "MIT"
    bad = world.http.post("/v1/manifests/verify", json=tampered).json()
    assert bad["verdict"] == "mismatch"
    world.client.revoke(REL, "recalled")
    world.sync()
    revoked = world.http.post("/v1/manifests/verify", json=world.manifest.document()).json()
    assert revoked["verdict"] == "revoked"


def test_filings_list_per_trust_list(world: World) -> None:
    assert world.http.get("/v1/filings").json()["filings"] == []  # no manifest uploaded yet
    world.http.post("/v1/manifests", json=world.manifest.document())
    [filing] = world.http.get("/v1/filings").json()["filings"]
    assert (filing["filingNumber"], filing["release"], filing["status"]) == (
        "Beijing-DS-2026-001",
        str(REL),
        "submitted",
    )


def test_check_refuses_loopback_targets_and_flags_confusables(world: World) -> None:
    # this verifier does not allow loopback targets: refused at the decision point, nothing contacted
    body = world.http.get("/v1/check", params={"url": "http://127.0.0.1:9", "release": str(REL)}).json()
    assert body["verdict"] == "unverified"
    statuses = {c["name"]: c["status"] for c in body["checks"]}
    assert statuses["release"] == "pass" and statuses["identity"] == "fail"
    identity = next(c for c in body["checks"] if c["name"] == "identity")
    assert identity["evidence"]["reason"] == "loopback"
    assert body["chain"]["registry"] == world.client.address
    fake = world.http.get("/v1/check", params={"url": "http://127.0.0.1:9", "release": "deep-seek/chat/1.0.0"}).json()
    names = next(c for c in fake["checks"] if c["name"] == "names")
    assert names["evidence"]["confusableWith"][0]["namespace"] == "deepseek"
    problem(world.http.get("/v1/check", params={"url": "ftp://x"}), 422)
    problem(world.http.get("/v1/check"), 422)
    problem(world.http.get("/v1/check", params={"url": "https://x", "release": "Deep/x"}), 422)
    for malformed in ("HtTp://J\u00fa]\u00ddD", "http://host:port/", "https://[::1"):  # found by schemathesis
        problem(world.http.get("/v1/check", params={"url": malformed}), 422)


def test_monitor_feed_with_cursor_and_confusable_alert(world: World) -> None:
    first = world.http.get("/v1/feed", params={"namespace": "deepseek"}).json()
    assert [e["event"] for e in first["events"]][:2] == ["NamespaceClaimed", "SignerAdded"]
    cursor = first["nextCursor"]
    squatter = RegistryClient(
        world.client.w3, world.client.address, account=Account.from_key(ANVIL_DEV_KEYS[9]),
        deploy_block=world.client.deploy_block,
    )  # fmt: skip
    squatter.claim_namespace("deep-seek")
    world.sync()
    new = world.http.get("/v1/feed", params={"namespace": "deepseek", "cursor": cursor}).json()["events"]
    assert [e["event"] for e in new] == ["NamespaceClaimed"]
    assert new[0]["args"]["namespace"] == "deep-seek"
    assert new[0]["alerts"]["confusableWith"][0]["namespace"] == "deepseek"
    lookup = world.http.get("/v1/namespaces/deep-seek").json()
    assert lookup["confusableWith"][0]["namespace"] == "deepseek"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/namespaces/%00",
        "/v1/releases?limit=0",
        "/v1/releases?limit=abc",
        "/v1/feed?cursor=-1",
        "/v1/manifests/zz",
        "/v1/nothing-here",
        "/v1/releases/a/b/c",
    ],
)
def test_malformed_input_is_a_problem_never_a_500(world: World, path: str) -> None:
    resp = world.http.get(path)
    assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.text)
    problem(resp, resp.status_code)


def test_malformed_bodies_are_problems(world: World) -> None:
    for body in ([], "x", {"type": "modelseal/manifest/v1"}, {"proof": 1}):
        resp = world.http.post(
            "/v1/manifests/verify", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        problem(resp, 422)
    resp = world.http.post("/v1/manifests", content=b"{not json", headers={"content-type": "application/json"})
    assert problem(resp, 400)["type"].endswith("/invalid-json")  # malformed syntax: 400, before any route


def test_watch_follows_the_verifier_named_by_its_setting(world: World, tmp_path: Path) -> None:
    import subprocess
    import sys

    from servers import serve_app

    with serve_app(world.app) as url:
        env = {**os.environ, "MODELSEAL_VERIFIER_URL": url, "MODELSEAL_HOME": str(tmp_path / "home")}
        cmd = [sys.executable, "-m", "registry", "watch", "--once", "--json", "--namespace", "deepseek"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"following {url}/v1/feed" in done.stderr  # which verifier it asks is never silent
    events = [json.loads(line)["event"] for line in done.stdout.splitlines()]
    assert events[:3] == ["NamespaceClaimed", "SignerAdded", "ReleasePublished"]


def test_verify_fetches_the_anchored_manifest_from_a_verifier(world: World, model_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from servers import serve_app

    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code in (200, 201)
    base = {
        **os.environ,
        "MODELSEAL_HOME": str(tmp_path / "fresh-home"),  # a client that never published: no manifest kept
        "MODELSEAL_RPC_URL": world.settings.rpc_url,
        "MODELSEAL_REGISTRY": world.client.address,
    }
    base.pop("MODELSEAL_VERIFIER_URL", None)
    cmd = [sys.executable, "-m", "registry", "verify", str(model_dir), "--release", str(REL), "--json"]
    alone = subprocess.run(cmd, env=base, capture_output=True, text=True, timeout=120)
    assert alone.returncode == 10, alone.stderr  # the manifest and signatures skipped: never verified
    assert "MODELSEAL_VERIFIER_URL" in {c["name"]: c["detail"] for c in json.loads(alone.stdout)["checks"]}["manifest"]
    with serve_app(world.app) as url:
        fetched = subprocess.run(cmd, env={**base, "MODELSEAL_VERIFIER_URL": url}, capture_output=True, text=True,
                                 timeout=120)  # fmt: skip
    verdict = json.loads(fetched.stdout)
    assert fetched.returncode == 0 and verdict["verdict"] == "verified", fetched.stdout + fetched.stderr


def test_a_shipped_manifest_uploaded_from_the_cli_shows_its_filing(world: World, tmp_path: Path) -> None:
    """The publisher ships the manifest it signed (with a regulator filing); `modelseal manifest
    upload` gives it to the verifier, and the filing is listed with the trusted regulator's status."""
    import subprocess
    import sys

    from servers import serve_app

    shipped = tmp_path / "shipped.manifest.json"
    shipped.write_text(world.manifest.to_json())
    assert world.http.get("/v1/filings").json()["filings"] == []
    with serve_app(world.app) as url:
        env = {**os.environ, "MODELSEAL_VERIFIER_URL": url, "MODELSEAL_HOME": str(tmp_path / "home")}
        cmd = [sys.executable, "-m", "registry", "manifest", "upload", str(shipped), "--json"]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["release"] == str(REL)
    [filing] = world.http.get("/v1/filings").json()["filings"]
    assert filing["filingNumber"] == "Beijing-DS-2026-001" and filing["status"] == "submitted"
    other = tmp_path / "unanchored.manifest.json"
    doc = world.manifest.document()
    doc["release"]["version"] = "9.9"
    other.write_text(json.dumps(doc))
    with serve_app(world.app) as url:
        env["MODELSEAL_VERIFIER_URL"] = url
        refused = subprocess.run([*cmd[:5], str(other)], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "the verifier refused the manifest" in refused.stderr, refused.stderr
