"""Hostile input and bad luck: nothing a client or a chatbot sends may crash, stall or poison the
verifier or the CLI. Each test names the item of the hardening issue it keeps fixed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import web3  # noqa: F401  # imported for its side effect: the recursion limit becomes 100,000
from hypothesis import given, settings
from hypothesis import strategies as st
from test_api import World, problem

from registry import jsontext
from registry.errors import ManifestInvalid
from registry.signing.manifest import Manifest
from verifier.errors import Problem
from verifier.limits import CheckSlots

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB; json.loads of it overflows the C stack under web3
DEEP_OBJECT = b'{"a":' * 40_000 + b"1" + b"}" * 40_000


@pytest.fixture
def world(anvil_url: str, tmp_path: Path, model_dir: Path) -> World:
    return World(anvil_url, tmp_path, model_dir)


# --- 1. one response kills the process --------------------------------------------------------


def test_the_recursion_limit_is_what_makes_deep_json_lethal() -> None:
    assert sys.getrecursionlimit() >= 100_000  # web3 raised it: the guard must not rely on RecursionError


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deep_json_is_refused_by_depth_before_any_parser_recurses(body: bytes) -> None:
    with pytest.raises(jsontext.JSONRefused, match="levels deep, over the limit of 64"):
        jsontext.loads(body)
    with pytest.raises(ManifestInvalid, match="levels deep"):
        Manifest.from_json(body)


@pytest.mark.parametrize("path", ["/v1/manifests", "/v1/manifests/verify"])
def test_deep_bodies_get_problem_details_and_the_service_lives(world: World, path: str) -> None:
    for body in (DEEP, DEEP_OBJECT):
        resp = world.http.post(path, content=body, headers={"content-type": "application/json"})
        assert problem(resp, 400)["type"].endswith("/invalid-json")
        assert "levels deep" in resp.json()["detail"]
    assert world.http.get("/v1/health").json()["status"] == "ok"


def test_cli_refuses_deep_manifests_in_one_line(cli: Any, tmp_path: Path) -> None:
    deep = tmp_path / "deep.manifest.json"
    deep.write_bytes(DEEP)
    for args in (("verify-manifest", deep), ("sign", deep, "--key", "nobody")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "levels deep" in proc.stderr and "Traceback" not in proc.stderr


# --- 5. limits ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_without_being_read(world: World) -> None:
    limit = world.settings.max_body_bytes
    big = b'{"type": "' + b"x" * limit + b'"}'
    resp = world.http.post("/v1/manifests/verify", content=big, headers={"content-type": "application/json"})
    assert problem(resp, 413)["type"].endswith("/body-too-large")

    def chunks() -> Any:  # no Content-Length: the limit holds while reading
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    resp = world.http.post("/v1/manifests", content=chunks(), headers={"content-type": "application/json"})
    assert problem(resp, 413)["type"].endswith("/body-too-large")


def test_checks_are_rate_limited_per_client_and_per_target(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    w = World(anvil_url, tmp_path, model_dir)
    w.settings.outbound_rate_limit = "3/minute"
    from fastapi.testclient import TestClient

    from verifier.app import create_app

    app = create_app(w.settings, services=w.app.state.services)
    http = TestClient(app)
    statuses = [http.get("/v1/check", params={"url": "http://127.0.0.1:9/"}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    resp = http.get("/v1/check", params={"url": "http://127.0.0.1:9/"})
    body = problem(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and body["retryAfter"] == int(resp.headers["Retry-After"])
    assert http.get("/v1/health").status_code == 200  # never limited
    assert http.get(f"/v1/releases/{w.manifest.release_name}").status_code == 200  # reads have their own limit

    w.settings.outbound_rate_limit, w.settings.target_rate_limit = "100/minute", "2/minute"
    app = create_app(w.settings, services=w.app.state.services)
    statuses = [
        TestClient(app, client=(f"10.0.0.{i}", 1000))
        .get("/v1/check", params={"url": "http://victim.example/"})
        .status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]  # four clients, one target: the target's limit holds

    # the page's button that starts a behavioural check counts as a check too
    w.settings.outbound_rate_limit, w.settings.target_rate_limit = "1/minute", "100/minute"
    http = TestClient(create_app(w.settings, services=w.app.state.services), client=("10.0.1.1", 1000))
    params = {"url": "http://127.0.0.1:9/", "release": str(w.manifest.release_name)}
    headers = {"sec-fetch-site": "same-origin"}
    first = http.post("/check/behaviour", params=params, headers=headers, follow_redirects=False)
    assert first.status_code != 429
    assert http.post("/check/behaviour", params=params, headers=headers).status_code == 429


def test_check_slots_queue_then_refuse_with_retry_after() -> None:
    slots = CheckSlots(concurrent=2, queued=1)
    release = asyncio.Event()
    started: list[int] = []

    async def one(i: int) -> str:
        try:
            async with slots.slot():
                started.append(i)
                await release.wait()
            return "done"
        except Problem as exc:
            assert exc.status == 503 and exc.headers["Retry-After"]
            return "busy"

    async def main() -> list[str]:
        tasks = [asyncio.create_task(one(i)) for i in range(4)]
        await asyncio.sleep(0.05)
        assert started == [0, 1] and slots.waiting == 1  # two run, one waits, the fourth is refused
        release.set()
        return await asyncio.gather(*tasks)

    assert sorted(asyncio.run(main())) == ["busy", "done", "done", "done"]


# --- 6. bad numbers and strings -------------------------------------------------------------

BAD_MEMBERS = {
    "2^64": b"18446744073709551616",
    "1e999": b"1e999",
    "NaN": b"NaN",
    "-Infinity": b"-Infinity",
    "lone surrogate": b'"\\ud800"',
}


@pytest.mark.parametrize("value", BAD_MEMBERS.values(), ids=BAD_MEMBERS.keys())
def test_bad_numbers_in_a_proof_are_client_errors(world: World, value: bytes, cli: Any, tmp_path: Path) -> None:
    doc = world.manifest.document()
    doc["proof"][0]["created"] = "PLACEHOLDER"
    body = json.dumps(doc).replace('"PLACEHOLDER"', value.decode()).encode()
    for path in ("/v1/manifests/verify", "/v1/manifests"):
        resp = world.http.post(path, content=body, headers={"content-type": "application/json"})
        assert resp.status_code in (400, 422), resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    target = tmp_path / "bad.manifest.json"
    target.write_bytes(body)
    proc = cli("verify-manifest", target)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


# --- the parser itself, on arbitrary input ----------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512) | st.text(max_size=512).map(str.encode))
def test_jsontext_raises_only_its_own_error_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(jsontext.JSONRefused):
        jsontext.loads(data)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_jsontext_reads_what_json_writes(value: Any) -> None:
    assert jsontext.loads(json.dumps(value)) == value


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.sampled_from([b"[]", b"{}"]), st.text(alphabet='[]{}"\\', max_size=20))
def test_depth_counts_brackets_outside_strings_only(levels: int, pair: bytes, noise: str) -> None:
    inner = json.dumps(noise).encode()  # brackets and quotes inside a string never count
    nested = pair[:1] * levels + (inner if pair == b"[]" else b"") + pair[1:] * levels
    assert jsontext.depth(nested) == levels


# --- 2. one transaction stalls every verifier's index -----------------------------------------

U64_MAX = 2**64 - 1


@pytest.mark.parametrize("expiry", [U64_MAX, 300_000_000_000], ids=["2^64-1", "year 11476"])
def test_extreme_expiries_index_render_and_never_stall(
    anvil_url: str, database_url: str, expiry: int, tmp_path: Path
) -> None:
    """Anyone can claim a namespace and authorise an operator until 2^64 - 1: the index must keep
    the exact value, render it, and go on to index what others publish afterwards."""
    from eth_account import Account
    from sqlalchemy.orm import Session
    from web3 import Web3

    from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
    from registry.names import ReleaseName
    from registry.signing.keys import Ed25519Key
    from verifier.index import queries
    from verifier.index.indexer import Indexer
    from verifier.index.schema import OperatorRow, make_engine

    w3 = Web3(Web3.HTTPProvider(anvil_url))
    attacker, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[5]))
    other = RegistryClient(
        w3, attacker.address, account=Account.from_key(ANVIL_DEV_KEYS[4]), deploy_block=attacker.deploy_block
    )
    attacker.claim_namespace("squat")
    did = Ed25519Key.generate().did
    attacker.authorize_operator("squat", "chat", None, did, expiry)
    other.claim_namespace("honest-lab")
    signer = Ed25519Key.generate().did
    other.add_signer("honest-lab", signer)
    later = ReleaseName("honest-lab", "chat", "1.0")
    other.publish(later, b"\x01" * 32, b"\x02" * 32, signer)

    engine = make_engine(database_url)
    idx = Indexer(engine, w3, attacker.address, deploy_block=attacker.deploy_block)
    idx.sync_once()
    with Session(engine) as s:
        assert s.query(OperatorRow).one().expires_at == expiry  # exact, not clamped
        assert queries.find_release(s, "honest-lab", "chat", "1.0") is not None  # indexing went on
        ns = queries.get_namespace(s, "squat", idx.chain_time())
    assert ns is not None
    assert ns["operators"][0]["expiresAt"].startswith("+584554051223-" if expiry == U64_MAX else "+11476-")
    assert ns["operators"][0]["active"] is True


def test_the_cli_refuses_an_expiry_beyond_uint64_and_renders_one_within(cli: Any) -> None:
    from registry.cli.options import parse_expiry
    from registry.errors import InputError

    assert parse_expiry(str(U64_MAX), 0) == U64_MAX
    for text in (str(2**64), "999999999999999999999d", "1" * 40):
        with pytest.raises(InputError):
            parse_expiry(text, 1_700_000_000)


def test_an_index_of_version_1_is_shifted_once_on_upgrade(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    from verifier.index.schema import BASELINE_TABLES, Base, make_engine

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url)  # an index from before migrations: its tables, no alembic_version
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in BASELINE_TABLES])
    with engine.begin() as conn:  # what version 1 wrote: plain integers, no version column value
        conn.execute(
            text(
                "INSERT INTO checkpoint (id, chain_id, registry_address, block_number, block_hash, version) "
                "VALUES (1, 31337, '0x0', 5, '0xab', NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO operators (scope_id, operator_did_hash, namespace, model, version, operator_did, "
                "expires_at, revoked_at) VALUES ('s', 'o', 'n', 'm', '', 'did:key:z', 1800000000, 0)"
            )
        )
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy.orm import Session

    from verifier.index.schema import OperatorRow

    with ThreadPoolExecutor(4) as pool:  # four processes starting together: one shifts, once
        list(pool.map(lambda _: make_engine(url).dispose(), range(4)))
    for _ in range(2):  # and opening it again shifts nothing
        engine = make_engine(url)
        with Session(engine) as s:
            op = s.query(OperatorRow).one()
            assert (op.expires_at, op.revoked_at) == (1_800_000_000, 0)


# --- 3. a chain outage wipes the index --------------------------------------------------------


def test_an_rpc_outage_is_not_a_reorg_and_reads_go_on_stale(world: World) -> None:
    from web3 import Web3

    from registry.errors import ChainError

    svc = world.app.state.services
    release_url = f"/v1/releases/{world.manifest.release_name}"
    assert world.http.get(release_url).status_code == 200
    good = svc.indexer.w3.provider
    svc.indexer.w3.provider = Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 2})  # nothing there
    try:
        time.sleep(1.1)  # past the cached head
        with pytest.raises(ChainError, match="does not answer"):
            svc.indexer.sync_once()
        assert world.http.get(release_url).status_code == 200  # not rolled back to block 0
        assert world.http.get("/v1/feed").json()["events"]
        health = world.http.get("/v1/health").json()
        assert health["status"] == "degraded" and "has not answered" in health["detail"]
        assert health["chain"]["stale"] is True and health["chain"]["indexedBlock"] > 0
        verify = world.http.post("/v1/manifests/verify", json=world.manifest.document())
        assert verify.status_code == 200, verify.text
        # served, but never `verified` on facts that may be out of date (a revocation would not show)
        assert verify.json()["verdict"] == "unverified" and verify.json()["chain"]["stale"] is True
        fresh = {c["name"]: c for c in verify.json()["checks"]}["chain-fresh"]
        assert fresh["status"] == "skip" and fresh["required"] is True
        check = world.http.get("/v1/check", params={"url": "http://127.0.0.1:9/"})
        assert check.status_code == 200 and check.json()["chain"]["stale"] is True
    finally:
        svc.indexer.w3.provider = good
    svc.indexer.sync_once()
    assert world.http.get("/v1/health").json()["status"] == "ok"
    time.sleep(1.1)  # past the cached head
    assert world.http.post("/v1/manifests/verify", json=world.manifest.document()).json()["verdict"] == "verified"


# --- 9. leaks ---------------------------------------------------------------------------------


def test_health_never_shows_the_databases_words(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    svc = world.app.state.services

    def broken(*_: Any, **__: Any) -> Any:
        raise OperationalError("SELECT secret FROM checkpoint WHERE id = 1", {}, Exception("disk I/O error /srv/x"))

    monkeypatch.setattr(svc.indexer, "indexed_block", broken)
    body = world.http.get("/v1/health").json()
    assert body["status"] == "degraded" and body["detail"] == "the index database cannot be read"
    assert "SELECT" not in json.dumps(body) and "/srv" not in json.dumps(body)


# --- 4. manifest upload is poisonable -----------------------------------------------------------


def _forged(doc: dict[str, Any]) -> dict[str, Any]:
    value = doc["proof"][0]["proofValue"]
    forged = value[:-3] + ("222" if value[-3:] != "222" else "333")
    return {**doc, "proof": [{**doc["proof"][0], "proofValue": forged}]}


def test_a_forged_proof_is_refused_and_never_displaces_the_publishers(world: World) -> None:
    from registry.signing.keys import Ed25519Key
    from registry.signing.proofs import sign_manifest

    genuine = world.manifest.document()
    resp = world.http.post("/v1/manifests", json=_forged(genuine))
    body = problem(resp, 422)
    assert body["type"].endswith("/manifest-not-signed-by-anchoring-key") and body["ignored"][0]["proof"] == 0
    assert world.http.get(f"/v1/manifests/{world.manifest.digest.hex}").status_code == 404  # nothing stored

    stranger = sign_manifest(world.manifest, Ed25519Key.generate())  # the genuine proof plus a stranger's
    resp = world.http.post("/v1/manifests", json=stranger.document())
    assert resp.status_code == 201 and resp.json()["proofs"] == 1
    assert "is not a signer of 'deepseek' on chain" in resp.json()["ignored"][0]["reason"]
    served = world.http.get(f"/v1/manifests/{world.manifest.digest.hex}").json()
    assert served["proof"] == genuine["proof"]

    # an attacker re-uploading with a forged second proof changes nothing; the publisher's upload still works
    poisoned = {**genuine, "proof": [*genuine["proof"], _forged(genuine)["proof"][0]]}
    assert world.http.post("/v1/manifests", json=poisoned).json()["ignored"][0]["proof"] == 1
    assert world.http.post("/v1/manifests", json=genuine).status_code == 200
    assert world.http.get(f"/v1/manifests/{world.manifest.digest.hex}").json()["proof"] == genuine["proof"]


def test_a_co_signers_proof_is_kept_alongside_the_publishers(world: World) -> None:
    from registry.signing.keys import Ed25519Key
    from registry.signing.proofs import sign_manifest

    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code == 201
    co = Ed25519Key.generate()
    world.client.add_signer("deepseek", co.did)  # a second signer of the namespace, on chain
    world.sync()
    cosigned = sign_manifest(world.manifest, co)
    resp = world.http.post("/v1/manifests", json=cosigned.document())
    assert resp.status_code == 200 and resp.json()["proofs"] == 2 and resp.json()["ignored"] == []
    stored = world.http.get(f"/v1/manifests/{world.manifest.digest.hex}").json()["proof"]
    assert [p["verificationMethod"].partition("#")[0] for p in stored] == [world.key.did, co.did]


def test_proofs_per_manifest_are_bounded(world: World) -> None:
    from registry.signing.keys import Ed25519Key
    from registry.signing.manifest import MAX_PROOFS
    from registry.signing.proofs import sign_manifest

    many = world.manifest
    for _ in range(MAX_PROOFS):
        many = sign_manifest(many, Ed25519Key.generate())
    body = problem(world.http.post("/v1/manifests", json=many.document()), 422)
    assert "proof" in body["detail"] and str(MAX_PROOFS) in body["detail"]


# --- 7. half state on publish, and faults on the way to the chain --------------------------------


class RpcProxy:
    """A JSON-RPC proxy in front of anvil that fails on purpose. ``mode``: ``pass``; ``lose-answer``
    (forwards eth_sendRawTransaction, then drops the connection: mined, but the sender never
    hears); ``refuse-send`` (drops eth_sendRawTransaction without forwarding it)."""

    def __init__(self, upstream: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import httpx

        self.upstream, self.mode = upstream, "pass"
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                sending = b"eth_sendRawTransaction" in body
                if sending and proxy.mode == "refuse-send":
                    self.close_connection = True
                    self.connection.close()
                    return
                resp = httpx.post(proxy.upstream, content=body, headers={"content-type": "application/json"})
                if sending and proxy.mode == "lose-answer":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(resp.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def publisher(anvil_url: str, tmp_path: Path, model_dir: Path) -> Any:
    import os
    import subprocess

    from eth_account import Account
    from web3 import Web3

    from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
    from registry.signing.keys import Ed25519Key, Keystore

    client, _ = RegistryClient.deploy(Web3(Web3.HTTPProvider(anvil_url)), Account.from_key(ANVIL_DEV_KEYS[3]))
    key = Ed25519Key.generate()
    Keystore(tmp_path / "keys").save("pub", key)
    client.claim_namespace("faulty")
    client.add_signer("faulty", key.did)
    proxy = RpcProxy(anvil_url)
    env = {
        **os.environ,
        "MODELSEAL_RPC_URL": proxy.url,
        "MODELSEAL_REGISTRY": client.address,
        "MODELSEAL_KEYS": str(tmp_path / "keys"),
        "MODELSEAL_HOME": str(tmp_path / "home"),
        "MODELSEAL_PRIVATE_KEY": "0x" + ANVIL_DEV_KEYS[3].hex(),
    }
    env.pop("MODELSEAL_DEBUG", None)

    def publish(*extra: str) -> subprocess.CompletedProcess[str]:
        args = ["publish", str(model_dir), "--namespace", "faulty", "--model", "chat", "--key", "pub", "--json"]
        return subprocess.run(
            [sys.executable, "-m", "registry", *args, *extra], env=env, capture_output=True, text=True, timeout=120
        )

    yield client, proxy, publish, tmp_path / "home"
    proxy.server.shutdown()


def _anchored(client: Any, version: str) -> str | None:
    from registry.names import ReleaseName

    info = client.release(ReleaseName("faulty", "chat", version))
    return None if info is None else info.manifest_digest.hex()


def test_a_publish_whose_answer_is_lost_is_finished_by_running_it_again(publisher: Any) -> None:
    client, proxy, publish, home = publisher
    proxy.mode = "lose-answer"
    first = publish("--version", "1.0")
    assert first.returncode == 3, first.stderr
    assert "run the same command again" in first.stderr and "Traceback" not in first.stderr
    anchored = _anchored(client, "1.0")
    assert anchored is not None  # mined, though the sender never heard
    assert (home / "manifests" / f"{anchored}.json").is_file()  # and its manifest was kept before sending
    proxy.mode = "pass"
    again = publish("--version", "1.0")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["alreadyPublished"] is True and out["manifestDigest"] == anchored
    assert not list((home / "manifests" / "pending").glob("*.json"))


def test_a_publish_that_never_reached_the_chain_anchors_the_same_manifest_on_rerun(publisher: Any) -> None:
    client, proxy, publish, home = publisher
    proxy.mode = "refuse-send"
    first = publish("--version", "2.0")
    assert first.returncode == 3 and "may not have been sent" in first.stderr, first.stderr
    assert _anchored(client, "2.0") is None
    pending = list((home / "manifests" / "pending").glob("*.json"))
    assert len(pending) == 1
    signed = Manifest.from_json(pending[0].read_text())
    proxy.mode = "pass"
    again = publish("--version", "2.0")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["alreadyPublished"] is False and out["manifestDigest"] == signed.digest.hex == _anchored(client, "2.0")


def test_output_to_a_missing_folder_is_refused_before_any_transaction(publisher: Any, tmp_path: Path) -> None:
    client, _, publish, _ = publisher
    proc = publish("--version", "3.0", "-o", str(tmp_path / "no" / "such" / "m.json"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert _anchored(client, "3.0") is None


# --- 8. the CLI reads without bounds ----------------------------------------------------------


def test_cli_refuses_devices_pipes_and_missing_files_in_one_line(cli: Any, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for reading would block for ever without O_NONBLOCK
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    cases = [
        ("verify-manifest", "/dev/zero"),
        ("verify-manifest", str(fifo)),
        ("verify-manifest", str(tmp_path)),
        ("receipt", "verify", "--receipt", "@/dev/zero", "--request", str(kept), "--response", str(kept), "--offline"),
        ("receipt", "verify", "--receipt", "abc", "--request", "/dev/zero", "--response", str(kept), "--offline"),
        (
            "receipt",
            "verify",
            "--receipt",
            "@" + str(tmp_path / "missing"),
            "--request",
            str(kept),
            "--response",
            str(kept),
        ),
    ]
    for args in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "registry", *args],
            capture_output=True,
            text=True,
            timeout=30,  # a hang is a failure, not a stuck suite
            env={**os.environ, "MODELSEAL_HOME": str(tmp_path / "home")},
        )
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("hint: "), args


def test_a_large_manifest_file_is_refused_by_size(tmp_path: Path) -> None:
    from registry.cli.options import read_manifest
    from registry.signing.manifest import MAX_MANIFEST_BYTES

    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ManifestInvalid, match="over the limit"):
        read_manifest(big)


# --- 9. leaks and small holes ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0xzz", "12", "0x" + "00" * 32, "0x" + "ff" * 32, "not a key at all"])
def test_a_malformed_private_key_is_one_line_without_echoing_it(value: str) -> None:
    from registry.chain.client import account_from_key
    from registry.errors import UnsafeAccount

    with pytest.raises(UnsafeAccount) as caught:
        account_from_key(value, 1)
    assert value not in caught.value.diagnostics() and "64 hex digits" in caught.value.message


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_private_key_is_an_error_never_the_dev_account(value: str, anvil_url: str) -> None:
    """On the local dev chain, no key means anvil's first account; a key set to nothing is a
    mistake (a CI secret that did not expand) and must not send from a public account."""
    from eth_account import Account
    from web3 import Web3

    from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
    from registry.errors import UnsafeAccount
    from registry.settings import Settings

    client, _ = RegistryClient.deploy(Web3(Web3.HTTPProvider(anvil_url)), Account.from_key(ANVIL_DEV_KEYS[4]))
    unset = RegistryClient.from_settings(Settings(rpc_url=anvil_url, registry=client.address))
    assert unset.account is not None and unset.account.address == Account.from_key(ANVIL_DEV_KEYS[0]).address
    with pytest.raises(UnsafeAccount, match="set but empty"):
        RegistryClient.from_settings(Settings(rpc_url=anvil_url, registry=client.address, private_key=value))


def test_a_missing_registry_address_is_bad_input_not_an_unreachable_chain(anvil_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "MODELSEAL_RPC_URL": anvil_url, "MODELSEAL_HOME": str(tmp_path / "empty-home")}
    env.pop("MODELSEAL_REGISTRY", None)
    cmd = [sys.executable, "-m", "registry", "show", "acme/chat/1.0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr  # 3 would say "unreachable chain", which it is not
    assert "no registry address for chain 31337" in proc.stderr and "MODELSEAL_REGISTRY" in proc.stderr


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_segments_are_no_model_or_version(name: str) -> None:
    from registry.errors import InvalidName
    from registry.names import ReleaseName

    with pytest.raises(InvalidName, match="path segment"):
        ReleaseName("acme", name, "1")
    with pytest.raises(InvalidName, match="path segment"):
        ReleaseName("acme", "chat", name)
    assert ReleaseName("acme", "..x", ".1.").model == "..x"  # only the bare segments are refused


def test_the_contract_refuses_dot_segments_too(world: World) -> None:
    from registry.errors import RegistryRefused

    for model, version in ((".", "1"), ("..", "1"), ("chat", ".."), ("chat", ".")):
        with pytest.raises(RegistryRefused):
            world.client._transact(  # straight to the contract, past the CLI's own check
                "publishRelease", "deepseek", model, version, b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
            )


def test_a_refused_internal_name_never_tells_its_address() -> None:
    from verifier.errors import OutboundRefused
    from verifier.guard import GuardedClient, GuardPolicy

    client = GuardedClient(GuardPolicy(), resolver=lambda host, port: ["10.20.30.40"])
    with pytest.raises(OutboundRefused) as caught:
        client.resolve("db.corp.internal", 443)
    assert caught.value.reason == "private" and "10.20.30.40" not in caught.value.message
    assert "db.corp.internal resolves to a private-network address" in caught.value.message


def test_the_confusables_cache_holds_short_names_only(world: World) -> None:
    svc = world.app.state.services
    for i in range(50):
        resp = world.http.get(f"/v1/namespaces/{'x' * 5000}{i}/confusables")
        assert resp.status_code == 200
    assert all(len(k) <= 64 for k in svc._answers)


# --- faults: the database ------------------------------------------------------------------------


def test_a_full_database_stops_indexing_cleanly_and_it_resumes(anvil_url: str, tmp_path: Path) -> None:
    """SQLite's page limit stands in for a full disk: the batch is rolled back whole, nothing is
    half-written, and once there is room again the index catches up to exactly the chain."""
    from eth_account import Account
    from sqlalchemy import event, func, select, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session
    from web3 import Web3

    from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
    from registry.names import ReleaseName
    from registry.signing.keys import Ed25519Key
    from verifier.index.indexer import Indexer
    from verifier.index.schema import EventRow, make_engine

    w3 = Web3(Web3.HTTPProvider(anvil_url))
    client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[2]))
    client.claim_namespace("disk")
    did = Ed25519Key.generate().did
    client.add_signer("disk", did)
    for i in range(30):
        client.publish(ReleaseName("disk", "chat", f"1.{i}"), os.urandom(32), os.urandom(32), did)
    url = f"sqlite:///{tmp_path / 'full.sqlite'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar()
    limit = {"pages": int(pages or 0) + 2}

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    engine.dispose()
    idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block, batch_blocks=10_000)
    with pytest.raises(OperationalError, match="full"):
        idx.sync_once()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 0  # the batch left nothing behind
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    limit["pages"] = 1_000_000
    engine.dispose()
    idx.sync_once()
    logs = w3.eth.get_logs({"address": client.address, "fromBlock": client.deploy_block, "toBlock": "latest"})
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == len(logs)


def test_a_locked_database_is_a_503_without_its_words(world: World) -> None:
    """Another process holds the index database's write lock: an upload waits its busy timeout,
    then answers 503 with Retry-After (nothing stored, no SQL shown); reads go on (WAL)."""
    import sqlite3

    from sqlalchemy import event

    svc = world.app.state.services
    path = svc.engine.url.database

    @event.listens_for(svc.engine, "connect")
    def _short(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 200")

    svc.engine.dispose()
    holder = sqlite3.connect(path, timeout=1)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long transaction elsewhere would hold it
    try:
        resp = world.http.post("/v1/manifests", json=world.manifest.document())
        body = problem(resp, 503)
        assert body["type"].endswith("/database-unavailable") and resp.headers["Retry-After"] == "5"
        assert "INSERT" not in resp.text and str(path) not in resp.text
        assert world.http.get(f"/v1/releases/{world.manifest.release_name}").status_code == 200
    finally:
        holder.rollback()
        holder.close()
    assert world.http.post("/v1/manifests", json=world.manifest.document()).status_code == 201


# --- 5. back-pressure: slow checks never starve reads or health ----------------------------------


def test_slow_checks_queue_then_refuse_and_never_block_health_or_reads(world: World) -> None:
    """45 checks of a chatbot that does not answer: 8 run, 32 wait (holding no thread and no
    database session), the rest are refused at once with 503; meanwhile /v1/health and release
    reads answer. Nothing here is timed: the chatbot answers only once the reads have."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from servers import hanging_server, serve_app

    from verifier.app import create_app

    settings = world.settings.model_copy(update={"allow_loopback_targets": True, "outbound_rate_limit": "1000/minute",
                                                 "target_rate_limit": "1000/minute"})  # fmt: skip
    services = world.app.state.services
    services.settings = settings
    from verifier.check import make_prober

    services.prober = make_prober(settings)
    app = create_app(settings, services=services)
    with hanging_server() as (chatbot, release), serve_app(app) as base, ThreadPoolExecutor(45) as pool:
        target = chatbot + "/"
        checks = [pool.submit(httpx.get, f"{base}/v1/check", params={"url": target}, timeout=90) for _ in range(45)]
        deadline = time.monotonic() + 30
        while services.slots.waiting < 32 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert services.slots.waiting == 32  # the queue is full: 8 running, 32 waiting
        health = httpx.get(f"{base}/v1/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(f"{base}/v1/releases/{world.manifest.release_name}", timeout=10).status_code == 200
        refused = [f.result() for f in checks if f.done()]
        assert len(refused) == 5 and all(r.status_code == 503 and r.headers["Retry-After"] for r in refused)
        release.set()
        answered = [f.result() for f in checks]
        assert sorted(r.status_code for r in answered) == [200] * 40 + [503] * 5


def test_feed_cursor_beyond_the_index_range_is_a_422_not_a_500(world: World) -> None:
    """Found by schemathesis: a cursor past 2^63 - 1 overflowed SQLite's integer."""
    problem(world.http.get("/v1/feed", params={"cursor": 2**64}), 422)
    assert world.http.get("/v1/feed", params={"cursor": 2**63 - 1}).json()["events"] == []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("body", [b'\\"' * 2_000_000, b'"' + b"a" * 4_000_000, b'["' * 1_000_000])
def test_the_depth_scan_is_linear_on_unterminated_strings(body: bytes) -> None:
    """Found in review: a body of `\\"` repeated made the string scan quadratic (80 KB: 19 s, with
    the event loop held). Each of these 4 MB bodies must be refused quickly, not in hours."""
    with pytest.raises(jsontext.JSONRefused):
        jsontext.loads(body, max_bytes=8 << 20)


def test_the_target_limit_cannot_be_dodged_by_a_second_url_or_spelling(world: World) -> None:
    """Found in review: the limit keyed on the first `url`, the route used the last."""
    from fastapi.testclient import TestClient

    from verifier.app import create_app
    from verifier.limits import _client, _target

    resp = world.http.get("/v1/check", params=[("url", "https://decoy.example/"), ("url", "https://victim.example/")])
    assert problem(resp, 422)["detail"] == "give one url parameter, not several"
    escaped = world.http.get("/v1/check?u%72l=https://decoy.example/&url=https://victim.example/")
    assert problem(escaped, 422)["detail"] == "give one url parameter, not several"  # the key spelled escaped
    assert {_target([u]) for u in ("https://Victim.Example./x", "https://victim.example:8443/")} == {"victim.example"}
    assert _client({"client": ("2001:db8:1:2:aa::1", 1)}) == _client({"client": ("2001:db8:1:2:ffff::9", 1)})
    assert _client({"client": ("::ffff:192.0.2.7", 1)}) == "192.0.2.7"
    settings = world.settings.model_copy(update={"target_rate_limit": "1/minute"})
    http = TestClient(create_app(settings, services=world.app.state.services), root_path="/verifier")
    assert http.get("/v1/check", params={"url": "https://victim.example/"}).status_code == 200
    assert http.get("/v1/check", params={"url": "https://VICTIM.example./"}).status_code == 429  # behind a prefix too


def test_an_rpc_node_behind_the_index_is_no_reorg(world: World) -> None:
    """Found in review: a load-balanced RPC may hand the verifier a node that is behind; its
    missing blocks are no proof of a reorg, so the index must stay as it is (served stale)."""
    from web3 import Web3

    from registry.chain.devchain import throwaway_anvil
    from registry.errors import ChainError

    svc = world.app.state.services
    good = svc.indexer.w3.provider
    with throwaway_anvil() as behind:  # a node at block 0 of a chain with the same id
        svc.indexer.w3.provider = Web3.HTTPProvider(behind)
        try:
            with pytest.raises(ChainError, match="below the indexed block"):
                svc.indexer.sync_once()
        finally:
            svc.indexer.w3.provider = good
    assert world.http.get(f"/v1/releases/{world.manifest.release_name}").status_code == 200
    svc.indexer.sync_once()


def test_behavioural_checks_wait_in_a_bounded_queue(tmp_path: Path, smollm_model: Path) -> None:
    """Found in review: every POST started a thread waiting for the one runner, without bound."""
    from servers import hanging_server

    from registry.names import ReleaseName
    from verifier.behaviour import MAX_PENDING_CHECKS, BehaviourService
    from verifier.guard import GuardedClient, GuardPolicy
    from verifier.index.schema import make_engine
    from verifier.jobs import JobStore

    jobs = JobStore(make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}"))
    service = BehaviourService(tmp_path, GuardedClient(GuardPolicy(allow_loopback=True)), jobs)
    digest = service.store.add(smollm_model).hex
    with hanging_server() as (url, _):
        jobs = [service.submit(url, ReleaseName("ab", "b", "1"), digest) for _ in range(MAX_PENDING_CHECKS)]
        with pytest.raises(Problem) as refused:
            service.submit(url, ReleaseName("ab", "b", "1"), digest)
        assert refused.value.status == 503 and refused.value.headers["Retry-After"]
        assert len(jobs) == MAX_PENDING_CHECKS
