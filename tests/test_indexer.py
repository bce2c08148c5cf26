"""verifier.index.indexer on a real anvil, on SQLite and on a real PostgreSQL: the index equals the
chain, survives SIGKILL mid-sync, and forgets orphaned blocks after a reorg."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from verifier.index.indexer import Indexer
from verifier.index.schema import EventRow, NamespaceRow, OperatorRow, ReleaseRow, SignerRow, make_engine


@pytest.fixture
def w3(anvil_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(anvil_url))


@pytest.fixture
def client(w3: Web3) -> RegistryClient:
    c, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[6]))
    return c


def populate(client: RegistryClient, prefix: str, releases: int = 3) -> list[ReleaseName]:
    did = Ed25519Key.generate().did
    ns = f"{prefix}-lab"
    client.claim_namespace(ns)
    client.add_signer(ns, did)
    names = []
    for i in range(releases):
        rel = ReleaseName(ns, "chat", f"1.{i}")
        client.publish(rel, os.urandom(32), os.urandom(32), did)
        names.append(rel)
    client.authorize_operator(ns, "chat", None, Ed25519Key.generate().did, client.now() + 3600)
    client.endorse(names[0], "audit.passed", os.urandom(32))
    client.revoke(names[-1], "superseded")
    return names


def chain_logs(client: RegistryClient) -> list[Any]:
    return list(
        client.w3.eth.get_logs({"address": client.address, "fromBlock": client.deploy_block, "toBlock": "latest"})
    )


def assert_index_equals_chain(engine: Any, client: RegistryClient) -> None:
    logs = chain_logs(client)
    with Session(engine) as s:
        rows = s.scalars(select(EventRow).order_by(EventRow.block_number, EventRow.log_index)).all()
        assert [(r.block_number, r.log_index) for r in rows] == [
            (int(lg["blockNumber"]), int(lg["logIndex"])) for lg in logs
        ]
        assert [r.block_hash for r in rows] == [lg["blockHash"].to_0x_hex() for lg in logs]
        for r in s.scalars(select(ReleaseRow)).all():
            info = client.release_by_id(bytes.fromhex(r.id[2:]))
            assert info is not None
            assert (r.manifest_digest, r.weights_digest) == (info.manifest_digest.hex(), info.weights_digest.hex())
            assert bool(r.revoked_at) == info.revoked and r.revoke_reason == info.revoke_reason
        published = client.contract.events.ReleasePublished.get_logs(from_block=client.deploy_block)
        assert s.scalar(select(func.count()).select_from(ReleaseRow)) == len(published)


def test_index_equals_chain(client: RegistryClient, database_url: str) -> None:
    names = populate(client, "alpha")
    engine = make_engine(database_url)
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, batch_blocks=3)
    added = idx.sync_once()
    assert added == len(chain_logs(client))
    assert idx.sync_once() == 0  # idempotent: nothing new, nothing doubled
    assert_index_equals_chain(engine, client)
    with Session(engine) as s:
        ns = s.scalar(select(NamespaceRow).where(NamespaceRow.name == "alpha-lab"))
        assert ns is not None and ns.controller == client.account.address  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(SignerRow)) == 1
        assert s.scalar(select(func.count()).select_from(OperatorRow)) == 1
        revoked = s.scalar(select(ReleaseRow).where(ReleaseRow.version == names[-1].version))
        assert revoked is not None and revoked.revoke_reason == "superseded"
    st = idx.status()
    assert st.behind == 0 and st.indexed == st.head


def test_confirmation_depth_holds_back_recent_blocks(client: RegistryClient, database_url: str) -> None:
    populate(client, "beta", releases=1)
    engine = make_engine(database_url)
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, confirmations=3)
    idx.sync_once()
    st = idx.status()
    assert st.indexed == st.head - 3 and st.behind == 3


def test_reorg_deeper_than_one_block_drops_orphaned_rows(client: RegistryClient, w3: Web3, database_url: str) -> None:
    populate(client, "gamma", releases=1)
    engine = make_engine(database_url)
    idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block)
    idx.sync_once()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    did = Ed25519Key.generate().did
    client.claim_namespace("orphan-lab")  # three blocks that will be orphaned
    client.add_signer("orphan-lab", did)
    client.publish(ReleaseName("orphan-lab", "chat", "1"), os.urandom(32), os.urandom(32), did)
    idx.sync_once()
    with Session(engine) as s:
        assert s.scalar(select(NamespaceRow).where(NamespaceRow.name == "orphan-lab")) is not None
    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    client.claim_namespace("canonical-lab")  # the new branch: different blocks at the same heights
    w3.provider.make_request("anvil_mine", [hex(4)])
    idx.sync_once()
    with Session(engine) as s:
        names = set(s.scalars(select(NamespaceRow.name)).all())
        assert "orphan-lab" not in names and "canonical-lab" in names
        assert s.scalar(select(ReleaseRow).where(ReleaseRow.namespace == "orphan-lab")) is None
    assert_index_equals_chain(engine, client)


def _checkpoint(engine: Any) -> int:
    from verifier.index.schema import Checkpoint

    with Session(engine) as s:
        cp = s.get(Checkpoint, 1)
        return cp.block_number if cp else -1


def test_sigkill_mid_sync_then_restart_loses_and_doubles_nothing(
    client: RegistryClient, database_url: str, tmp_path: Path
) -> None:
    populate(client, "delta", releases=40)
    engine = make_engine(database_url)
    env = {
        **os.environ,
        "MODELSEAL_RPC_URL": client.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "MODELSEAL_REGISTRY": client.address,
        "MODELSEAL_DEPLOY_BLOCK": str(client.deploy_block),
        "MODELSEAL_DATABASE_URL": database_url,
        "MODELSEAL_HOME": str(tmp_path / "home"),
        "MODELSEAL_LEASE_SECONDS": "3",  # the killed process's lease expires, then the restart takes it
    }
    cmd = [sys.executable, "-m", "registry", "verifier", "index", "--batch-blocks", "1"]
    head = client.block_number()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _checkpoint(engine) < client.deploy_block + 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stopped_at = _checkpoint(engine)
    assert client.deploy_block < stopped_at < head, "the kill should land in the middle of the sync"
    done = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _checkpoint(engine) >= head
    assert json.loads(done.stdout.splitlines()[-1])["indexedBlock"] >= head
    assert_index_equals_chain(engine, client)


# A contract of five instructions, put in place of the registry's code for one transaction with
# anvil_setCode: LOG3(topic0, topic1, topic2) of calldata[0:96] with calldata[96:] as data. It lets
# the test emit, from the registry's own address, logs a 1.0 registry allowed (a revocation reason
# with a NUL and invalid UTF-8) and logs no registry writes (data of the wrong shape).
_EMITTER = bytes.fromhex("6040356020356000356060360380606060003760" + "00a300")


def _emit_as_registry(client: RegistryClient, topics: list[bytes], data: bytes) -> None:
    w3, address = client.w3, client.address
    original = w3.eth.get_code(address)
    w3.provider.make_request("anvil_setCode", [address, "0x" + _EMITTER.hex()])
    try:
        account = client.account
        assert account is not None
        tx = {
            "to": address,
            "data": "0x" + b"".join([*topics, data]).hex(),
            "gas": 3_000_000,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
            "maxFeePerGas": 2 * w3.eth.gas_price,
            "maxPriorityFeePerGas": 0,
        }
        sent = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        assert w3.eth.wait_for_transaction_receipt(sent, timeout=30)["status"] == 1
    finally:
        w3.provider.make_request("anvil_setCode", [address, "0x" + bytes(original).hex()])


def test_hostile_event_data_never_stops_the_index(client: RegistryClient, database_url: str) -> None:
    """The audit's attack: four ordinary transactions leave a revocation reason with a NUL byte and
    invalid UTF-8 (and here also a log of the wrong shape). The indexer keeps going, and the
    victim's later revocation is served."""
    from eth_abi.abi import encode
    from eth_utils.crypto import keccak

    from registry.names import namespace_id, release_id
    from verifier.index.schema import SkippedLog

    victim = populate(client, "victim", releases=2)[0]  # populate revokes the last one
    attacker = populate(client, "attacker", releases=2)[0]
    topic = keccak(text="ReleaseRevoked(bytes32,bytes32,string,uint64)")
    ids = [release_id(attacker), namespace_id(attacker.namespace)]
    hostile = b"bad\x00reason \xff\xfe" + b"x" * 5000
    _emit_as_registry(client, [topic, *ids], encode(["bytes", "uint64"], [hostile, client.now()]))
    _emit_as_registry(client, [topic, *ids], b"\x00" * 7)  # not an ABI encoding at all
    engine = make_engine(database_url)
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, batch_blocks=1000)
    idx.sync_once()
    client.revoke(victim, "backdoored weights")
    idx.sync_once()
    assert idx.status().behind == 0
    with Session(engine) as s:
        bad = s.get(ReleaseRow, "0x" + release_id(attacker).hex())
        assert bad is not None and bad.revoke_reason is not None
        assert bad.revoke_reason.startswith("bad\ufffdreason \ufffd\ufffd") and len(bad.revoke_reason) == 1024
        good = s.get(ReleaseRow, "0x" + release_id(victim).hex())
        assert good is not None and good.revoke_reason == "backdoored weights" and good.revoked_at
        skipped = s.scalars(select(SkippedLog)).all()
        assert len(skipped) == 1 and skipped[0].topic == "0x" + topic.hex()


@pytest.mark.parametrize("batch", ["forked", "refused"])
def test_near_the_head_each_logs_block_is_asked_again_in_batches(
    client: RegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: str
) -> None:
    """The logs and the blocks may come from different nodes behind one RPC: near the head, the
    hash each log names is checked against the chain's, asked in one JSON-RPC batch. A batch
    that tells of another fork stops the index; an RPC that refuses batches is asked block by
    block, and the index ends equal to the chain."""
    from registry.errors import ChainError

    populate(client, "batched", releases=3)
    engine = make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block)
    real = client.w3.provider.make_batch_request  # type: ignore[attr-defined]
    asked: list[int] = []

    def answer(requests: list[Any]) -> Any:
        asked.append(len(requests))
        if batch == "refused":
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batches are not allowed"}}
        answers = real(requests)
        return [{**a, "result": {**a["result"], "hash": "0x" + "ef" * 32}} for a in answers]

    monkeypatch.setattr(client.w3.provider, "make_batch_request", answer)
    if batch == "forked":
        with pytest.raises(ChainError, match="changed while it was read"):
            idx.sync_once()
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(EventRow)) == 0
    else:
        idx.sync_once()
        assert_index_equals_chain(engine, client)
    assert asked and max(asked) > 1  # several blocks asked in one batch


def test_logs_of_another_fork_that_got_in_are_rolled_back_at_the_next_head(
    client: RegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: behind an RPC balancing across nodes, the check of a batch's block hashes
    may reach the same wrong node that sent the logs; the checkpoint's hash alone would then keep
    the other fork's events for good. At the next head the recent blocks with events are asked
    again: one that is not the chain's is rolled back and indexed anew."""
    populate(client, "forked", releases=2)
    engine = make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block)
    real = client.w3.provider.make_request
    bogus = "0x" + "ab" * 32

    def other_fork(method: Any, params: Any) -> Any:
        answer = real(method, params)
        if method == "eth_getLogs" and answer.get("result"):
            logs = list(answer["result"])
            answer = {**answer, "result": [{**logs[0], "blockHash": bogus}, *logs[1:]]}
        return answer

    monkeypatch.setattr(client.w3.provider, "make_request", other_fork)
    monkeypatch.setattr(Indexer, "_check_log_blocks", lambda *_: None)  # the same wrong node asked again
    idx.sync_once()
    with Session(engine) as s:
        assert bogus in set(s.scalars(select(EventRow.block_hash)).all())  # it got in
    monkeypatch.undo()
    client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    idx.sync_once()  # rolled back below that block ...
    idx.sync_once()  # ... and indexed again from the chain
    assert_index_equals_chain(engine, client)


@pytest.mark.parametrize(
    ("lie", "words"),
    [
        (lambda logs: logs + logs[:1], "the same log twice"),
        (lambda logs: [{**logs[0], "blockNumber": hex(10**9)}, *logs[1:]], "for blocks"),
        (lambda logs: [{**logs[0], "logIndex": hex(2**31)}, *logs[1:]], "for blocks"),
        (lambda logs: [{**logs[0], "address": "0x" + "11" * 20}, *logs[1:]], "malformed log"),
        # logs of an orphaned fork (a node behind a load balancer on another branch)
        (lambda logs: [{**logs[0], "blockHash": "0x" + "ab" * 32}, *logs[1:]], "changed while it was read"),
        (lambda logs: [*logs, {**logs[-1], "logIndex": hex(999), "blockHash": "0x" + "cd" * 32}], "two different"),
    ],
)
def test_a_lying_rpc_stops_the_index_and_never_corrupts_it(
    client: RegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lie: Any, words: str
) -> None:
    from registry.errors import ChainError

    populate(client, "liar", releases=1)
    engine = make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    idx = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block)
    real = client.w3.provider.make_request

    def lying(method: Any, params: Any) -> Any:
        answer = real(method, params)
        if method == "eth_getLogs" and answer.get("result"):
            answer = {**answer, "result": lie(list(answer["result"]))}
        return answer

    monkeypatch.setattr(client.w3.provider, "make_request", lying)
    with pytest.raises(ChainError, match=words):
        idx.sync_once()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 0
    assert idx._confusables is None  # nothing learnt from a batch that was not written
    monkeypatch.setattr(client.w3.provider, "make_request", real)
    idx.sync_once()
    assert_index_equals_chain(engine, client)
