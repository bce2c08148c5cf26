"""Any EVM chain: the registry, the indexer, the verifier and the CLI on Hardhat's own node (EDR,
another EVM implementation than anvil) serving chain 424242, which is no development chain, with
the index held three blocks below the head (``MODELSEAL_CONFIRMATIONS=3``).

One node serves the whole session (``hardhat_url`` in conftest); each test deploys its own
registry from a freshly funded account, since anvil's well-known keys (which Hardhat's node funds)
are refused on a chain that is not a development chain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import OTHER_CHAIN_ID, CliRun, funded_accounts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from test_indexer import assert_index_equals_chain, chain_logs, populate
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient, account_from_key
from registry.chains import chain_name, is_development
from registry.errors import ChainError, UnsafeAccount
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from verifier.app import create_app
from verifier.index.indexer import Indexer
from verifier.index.schema import EventRow, NamespaceRow, ReleaseRow, make_engine
from verifier.settings import VerifierSettings

CONFIRMATIONS = 3


@pytest.fixture(scope="module")
def w3(hardhat_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(hardhat_url))


@pytest.fixture
def client(w3: Web3) -> RegistryClient:
    [publisher] = funded_accounts(w3, 1)
    c, deployment = RegistryClient.deploy(w3, publisher)
    assert deployment.chain_id == OTHER_CHAIN_ID
    return c


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An empty index database, SQLite or PostgreSQL."""
    made = make_engine(database_url)
    yield made
    made.dispose()


def mine(w3: Web3, blocks: int) -> None:
    assert w3.provider.make_request("hardhat_mine", [hex(blocks)])["result"] is True  # type: ignore[attr-defined]


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def namespaces(engine: Engine) -> set[str]:
    with Session(engine) as s:
        return set(s.scalars(select(NamespaceRow.name)).all())


def test_the_node_serves_a_chain_that_is_not_a_development_chain(w3: Web3) -> None:
    assert w3.eth.chain_id == OTHER_CHAIN_ID
    assert not is_development(OTHER_CHAIN_ID) and chain_name(OTHER_CHAIN_ID) == "chain 424242"
    with pytest.raises(UnsafeAccount, match="well-known anvil dev key on chain 424242"):
        account_from_key(ANVIL_DEV_KEYS[0], OTHER_CHAIN_ID)  # the node funds them, and anyone can spend them


def test_index_holds_back_the_confirmations_then_equals_the_chain(client: RegistryClient, engine: Engine) -> None:
    names = populate(client, "hh")  # claim, signer, three releases, operator, endorsement, revocation
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, confirmations=CONFIRMATIONS)
    idx.sync_once()
    head = client.block_number()
    st = idx.status(max_age=0)
    assert (st.chain_id, st.indexed, st.behind, st.confirmations) == (OTHER_CHAIN_ID, head - 3, 3, 3)
    recent = [lg for lg in chain_logs(client) if lg["blockNumber"] > head - CONFIRMATIONS]
    assert len(recent) == 3  # one transaction per block: operator, endorsement, revocation
    with Session(engine) as s:
        assert s.scalar(select(EventRow).where(EventRow.block_number > head - CONFIRMATIONS)) is None
        revoked = s.scalar(select(ReleaseRow).where(ReleaseRow.version == names[-1].version))
        assert revoked is not None and not revoked.revoked_at  # the revocation is not confirmed yet

    mine(client.w3, CONFIRMATIONS)
    assert idx.sync_once() == 3
    assert idx.status(max_age=0).indexed == head
    assert_index_equals_chain(engine, client)
    with Session(engine) as s:
        revoked = s.scalar(select(ReleaseRow).where(ReleaseRow.version == names[-1].version))
        assert revoked is not None and revoked.revoke_reason == "superseded"


def test_a_reorg_deeper_than_the_confirmations_is_undone(client: RegistryClient, engine: Engine) -> None:
    w3 = client.w3
    populate(client, "before", releases=1)
    idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block, confirmations=CONFIRMATIONS)
    snapshot = rpc(w3, "evm_snapshot")
    fork = client.block_number()

    did = Ed25519Key.generate().did  # the branch that will be orphaned: 3 transactions, 5 empty blocks
    client.claim_namespace("orphan-lab")
    client.add_signer("orphan-lab", did)
    client.publish(ReleaseName("orphan-lab", "chat", "1"), os.urandom(32), os.urandom(32), did)
    mine(w3, 5)
    idx.sync_once()
    orphaned_head = client.block_number()
    indexed = idx.status(max_age=0).indexed
    assert indexed == orphaned_head - CONFIRMATIONS
    assert indexed - fork > CONFIRMATIONS  # the reorg will undo blocks the index took as confirmed
    assert namespaces(engine) == {"before-lab", "orphan-lab"}
    with Session(engine) as s:
        assert s.scalar(select(ReleaseRow).where(ReleaseRow.namespace == "orphan-lab")) is not None

    assert rpc(w3, "evm_revert", snapshot) is True
    client.claim_namespace("canonical-lab")  # the new branch: other blocks at the same heights
    with pytest.raises(ChainError, match="below the indexed block"):
        idx.sync_once()  # a shorter chain is no proof of a reorg: the index is kept, not rolled back
    assert "orphan-lab" in namespaces(engine)

    did = Ed25519Key.generate().did
    client.add_signer("before-lab", did)
    client.publish(ReleaseName("before-lab", "chat", "2.0"), os.urandom(32), os.urandom(32), did)
    mine(w3, orphaned_head - client.block_number() + CONFIRMATIONS + 2)  # longer than the orphaned branch
    idx.sync_once()
    assert idx.status(max_age=0).indexed == client.block_number() - CONFIRMATIONS
    assert namespaces(engine) == {"before-lab", "canonical-lab"}
    with Session(engine) as s:
        assert s.scalar(select(ReleaseRow).where(ReleaseRow.namespace == "orphan-lab")) is None
        assert s.scalar(select(ReleaseRow).where(ReleaseRow.version == "2.0")) is not None
    assert_index_equals_chain(engine, client)


def test_the_verifier_serves_the_other_chain_by_its_number(
    client: RegistryClient, w3: Web3, tmp_path: Path, model_dir: Path
) -> None:
    rel = ReleaseName("hh-app", "chat", "1.0.0")
    key = Ed25519Key.generate()
    client.claim_namespace(rel.namespace)
    client.add_signer(rel.namespace, key.did)
    md = hash_model(model_dir)
    manifest = sign_manifest(Manifest.create(rel, key.did, md), key)
    client.publish(rel, manifest.digest.value, md.weights.value, key.did)
    settings = VerifierSettings(
        home=tmp_path / "home",
        rpc_url=client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        chain_id=OTHER_CHAIN_ID,
        registry=client.address,
        deploy_block=client.deploy_block,
        database_url=f"sqlite:///{tmp_path / 'index.sqlite'}",
        confirmations=CONFIRMATIONS,
        index_in_background=False,
    )
    app = create_app(settings)
    http = TestClient(app)
    app.state.services.indexer.sync_once()
    assert http.get(f"/v1/releases/{rel}").status_code == 404  # published less than 3 blocks ago

    mine(w3, CONFIRMATIONS)
    app.state.services.indexer.sync_once()
    health = http.get("/v1/health").json()
    assert health["status"] == "ok", health
    head = client.block_number()
    assert health["chain"] | {"head": head, "indexedBlock": head - 3, "behind": 3} == health["chain"]
    assert (health["chain"]["chainId"], health["chain"]["confirmations"]) == (OTHER_CHAIN_ID, 3)
    release = http.get(f"/v1/releases/{rel}").json()
    assert release["weightsDigest"] == manifest.weights.digest and release["signer"]["did"] == key.did

    verdict = http.post("/v1/manifests/verify", json=manifest.document()).json()
    assert verdict["verdict"] == "verified", verdict
    assert verdict["warnings"] == []  # neither dev-chain nor stale-index: 3 blocks behind is on purpose
    chain_view = {"chainId": OTHER_CHAIN_ID, "name": "chain 424242", "development": False, "stale": False}
    assert verdict["chain"] | chain_view == verdict["chain"]
    check = http.get("/v1/check", params={"url": "http://127.0.0.1:9", "release": str(rel)}).json()
    assert check["chain"] | {**chain_view, "registry": client.address, "block": head - 3} == check["chain"]
    assert {c["name"]: c["status"] for c in check["checks"]}["release"] == "pass"
    assert "dev-chain" not in {w["code"] for w in check["warnings"]}


def test_cli_sends_from_its_own_key_and_refuses_the_public_ones(client: RegistryClient, cli: CliRun) -> None:
    [own] = funded_accounts(client.w3, 1)
    target = [
        "--rpc-url", client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "--registry", client.address,
        "--chain-id", str(OTHER_CHAIN_ID),
    ]  # fmt: skip
    key_env = {"MODELSEAL_PRIVATE_KEY": "0x" + bytes(own.key).hex()}
    claimed = cli("namespace", "claim", "hh-cli", "--yes", "--json", *target, extra_env=key_env, check=True)
    assert json.loads(claimed.stdout)["controller"] == own.address
    shown = json.loads(cli("namespace", "show", "hh-cli", "--json", *target, check=True).stdout)
    assert shown["controller"] == own.address

    public_key = {"MODELSEAL_PRIVATE_KEY": "0x" + ANVIL_DEV_KEYS[0].hex()}  # funded by the node, spendable by anyone
    public = cli("namespace", "claim", "hh-dev", "--yes", *target, extra_env=public_key)
    assert public.returncode == 2 and "well-known anvil dev key on chain 424242" in public.stderr
    no_key = cli("namespace", "claim", "hh-dev", "--yes", *target)  # no falling back to anvil's first account here
    assert no_key.returncode == 2 and "no sending account configured" in no_key.stderr
    assert client.namespace("hh-dev") is None
    wrong = cli("namespace", "show", "hh-cli", *target[:4], "--chain-id", "31337")
    assert wrong.returncode == 3 and "serves chain 424242, not 31337" in wrong.stderr


def test_off_a_development_chain_the_index_keeps_confirmations_unless_told(
    client: RegistryClient, tmp_path: Path
) -> None:
    """A verifier pointed at a public chain without MODELSEAL_CONFIRMATIONS must not index the
    head itself (facts a common reorg takes back); a development chain indexes it."""
    from verifier.settings import PUBLIC_CONFIRMATIONS

    def health(**extra: Any) -> Any:
        settings = VerifierSettings(
            home=tmp_path / "home", rpc_url=client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
            registry=client.address, deploy_block=client.deploy_block, index_in_background=False,
            database_url=f"sqlite:///{tmp_path / 'index.sqlite'}", **extra,
        )  # fmt: skip
        app = create_app(settings)
        app.state.services.indexer.sync_once()
        return TestClient(app).get("/v1/health").json()["chain"]

    assert health()["confirmations"] == PUBLIC_CONFIRMATIONS  # chain 424242
    assert health(confirmations=0)["confirmations"] == 0
    assert VerifierSettings(home=tmp_path).confirmations_on(31337) == 0
