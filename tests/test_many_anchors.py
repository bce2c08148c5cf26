"""One weights digest anchored 20,000 times (anyone may anchor any digest), on a real anvil: every
reader still answers - the client from the events by topic, `modelseal verify`, the contract's
paged read, and the verifier's index and API on SQLite and PostgreSQL - while the contract's
unbounded `releasesByWeights` runs out of gas, as the audit found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3

from registry.chain.artifacts import load_artifact
from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.errors import ChainError
from registry.hashing.model import hash_file
from registry.names import ReleaseName, did_id, namespace_id
from registry.signing.keys import Ed25519Key
from verifier.app import create_app
from verifier.settings import VerifierSettings

ANCHORS = 20_000
PER_TX = 250
NS = "bulk-copies"


@dataclass
class Anchored:
    url: str
    client: RegistryClient
    weights: bytes
    model: Path


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anchored]:
    from registry.chain.devchain import throwaway_anvil

    tmp = tmp_path_factory.mktemp("anchors")
    model = tmp / "model.gguf"
    model.write_bytes(b"weights that twenty thousand releases anchor\n")
    weights = hash_file(model).value
    with throwaway_anvil("--chain-id", "31337", log=tmp / "anvil.log") as url:
        w3 = Web3(Web3.HTTPProvider(url))
        account = Account.from_key(ANVIL_DEV_KEYS[5])
        client, _ = RegistryClient.deploy(w3, account)
        art = load_artifact("BulkPublisher", source="contracts/test/BulkPublisher.sol")
        did = Ed25519Key.generate().did

        def send(call: Any) -> Any:
            tx = call.build_transaction(
                {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                 "gas": 29_000_000}
            )  # fmt: skip
            sent = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(sent, timeout=120)
            assert receipt["status"] == 1
            return receipt

        deployed = send(w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor())
        bulk = w3.eth.contract(address=deployed["contractAddress"], abi=art.abi)
        send(bulk.functions.claim(client.address, NS, did))
        for first in range(0, ANCHORS, PER_TX):
            send(bulk.functions.publishMany(client.address, NS, "m", first, PER_TX, weights, did_id(did)))
        yield Anchored(url, client, weights, model)


def test_the_client_reads_every_anchor_from_the_events(anchored: Anchored) -> None:
    names = anchored.client.releases_by_weights(anchored.weights)
    assert len(names) == ANCHORS
    assert names[0] == ReleaseName(NS, "m", "0") and names[-1] == ReleaseName(NS, "m", str(ANCHORS - 1))
    assert len(set(names)) == ANCHORS


def test_the_contract_pages_what_its_unbounded_read_cannot_return(anchored: Anchored) -> None:
    c = anchored.client
    with pytest.raises(ChainError):  # the audit's finding: about 2,600 gas per entry, over the call cap
        c._call(lambda: c.contract.functions.releasesByWeights(anchored.weights).call())
    assert c.contract.functions.releaseCountByWeights(anchored.weights).call() == ANCHORS
    paged: list[bytes] = []
    cursor = b"\x00" * 32
    while True:
        ids, cursor = c.contract.functions.releasesByWeightsPage(anchored.weights, cursor, 1000).call()
        paged.extend(bytes(i) for i in ids)
        if cursor == b"\x00" * 32:
            break
    expected = [c.release(n) for n in (ReleaseName(NS, "m", str(ANCHORS - 1)), ReleaseName(NS, "m", "0"))]
    assert len(paged) == ANCHORS and len(set(paged)) == ANCHORS
    assert [paged[0], paged[-1]] == [e.id for e in expected if e is not None]  # newest first


def test_modelseal_verify_answers_and_names_none_of_them(anchored: Anchored, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MODELSEAL_HOME": str(tmp_path / "home"),
        "MODELSEAL_RPC_URL": anchored.url,
        "MODELSEAL_REGISTRY": anchored.client.address,
    }
    cmd = [sys.executable, "-m", "registry", "verify", str(anchored.model), "--json"]
    plain = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 10, plain.stderr
    registered = json.loads(plain.stdout)["checks"][0]
    assert registered["status"] == "skip" and registered["evidence"]["count"] == ANCHORS
    assert f"anchored by {ANCHORS} releases" in registered["detail"] and "and 19980 more" in registered["detail"]
    one = subprocess.run([*cmd, "--release", f"{NS}/m/12345"], env=env, capture_output=True, text=True, timeout=300)
    verdict = json.loads(one.stdout)
    assert verdict["release"] == f"{NS}/m/12345", one.stderr
    assert {c["name"]: c["status"] for c in verdict["checks"]}["weights"] == "pass"


def test_the_index_and_the_api_page_them(anchored: Anchored, database_url: str, tmp_path: Path) -> None:
    settings = VerifierSettings(
        home=tmp_path / "home",
        rpc_url=anchored.url,
        registry=anchored.client.address,
        deploy_block=anchored.client.deploy_block,
        database_url=database_url,
        index_in_background=False,
    )
    app = create_app(settings)
    app.state.services.indexer.sync_once()
    http = TestClient(app)
    digest = anchored.weights.hex()
    first = http.get(f"/v1/weights/{digest}").json()
    assert first["count"] == ANCHORS and len(first["releases"]) == 100
    assert first["releases"][0]["release"] == f"{NS}/m/0"
    last = http.get(f"/v1/weights/{digest}", params={"limit": 500, "offset": ANCHORS - 300}).json()
    assert [r["release"] for r in last["releases"]][-1] == f"{NS}/m/{ANCHORS - 1}" and len(last["releases"]) == 300
    assert http.get(f"/v1/weights/{digest}", params={"limit": 501}).status_code == 422
    page = http.get("/search", params={"q": digest})
    assert page.status_code == 200 and f"{ANCHORS} releases anchor these weights" in page.text
    assert namespace_id(NS).hex() in http.get(f"/v1/namespaces/{NS}").text
