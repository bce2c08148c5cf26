"""Several verifier replicas on one PostgreSQL database, as real processes (`modelseal verifier
serve`): one indexes at a time; `kill -9` of the indexing replica mid-catch-up hands the lease to
another within seconds, and the index ends equal to the chain with no duplicate-key error in any
log; a look-alike namespace indexed by one replica is flagged on another's feed and pages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from test_indexer import assert_index_equals_chain, client, populate, w3  # noqa: F401 (fixtures)

from registry.chain.client import RegistryClient
from registry.chain.devchain import free_port
from tools.postgres import new_database
from tools.waiting import wait_http
from verifier.index.schema import make_engine

LEASE_SECONDS = 2


class Replica:
    def __init__(self, name: str, chain: RegistryClient, database_url: str, logs: Path) -> None:
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / f"{name}.log"
        env = {
            **os.environ,
            "MODELSEAL_RPC_URL": chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
            "MODELSEAL_REGISTRY": chain.address,
            "MODELSEAL_DEPLOY_BLOCK": str(chain.deploy_block),
            "MODELSEAL_DATABASE_URL": database_url,
            "MODELSEAL_HOME": str(logs / name),
            "MODELSEAL_BATCH_BLOCKS": "1",  # a slow catch-up, so the kill lands in the middle of it
            "MODELSEAL_POLL_SECONDS": "0.2",
            "MODELSEAL_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        env.pop("MODELSEAL_DEBUG", None)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "registry", "verifier", "serve", "--port", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def started(self) -> Replica:
        wait_http(self.url + "/v1/health", self.proc)
        return self

    def get(self, path: str, **params: Any) -> Any:
        resp = httpx.get(self.url + path, params=params, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def replicas(tmp_path: Path, postgres_server: str) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for r in started:
        r.stop()


def _holder_pid(engine: Any) -> int | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT holder, expires_at FROM indexer_lease WHERE id = 1")).one()
    return int(row.holder.split(":")[1]) if row.holder else None


def _checkpoint(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(block_number), -1) FROM checkpoint")).scalar() or -1)


def _wait(what: str, predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_of_the_indexing_replica_hands_over_and_loses_nothing(
    client: RegistryClient,  # noqa: F811
    postgres_server: str,
    tmp_path: Path,
    replicas: list[Replica],
) -> None:
    for i in range(6):
        populate(client, f"load{i}", releases=6)
        client.w3.provider.make_request("anvil_mine", [200])  # type: ignore[arg-type]  # blocks to walk through
    head = client.block_number()
    database_url = new_database(postgres_server)
    replicas += [Replica(name, client, database_url, tmp_path) for name in ("a", "b")]  # started together
    for r in replicas:
        r.started()
    engine = make_engine(database_url)
    _wait("a replica to index", lambda: _checkpoint(engine) > client.deploy_block + 5)
    leader_pid = _holder_pid(engine)
    leader = next(r for r in replicas if r.proc.pid == leader_pid)
    other = next(r for r in replicas if r is not leader)
    stopped_at = _checkpoint(engine)
    assert stopped_at < head, "the kill should land in the middle of the catch-up"
    leader.proc.send_signal(signal.SIGKILL)
    leader.proc.wait()
    killed_at = time.monotonic()
    _wait("the other replica to take over", lambda: _holder_pid(engine) == other.proc.pid, timeout=30)
    took_over = time.monotonic() - killed_at
    assert took_over < LEASE_SECONDS + 5, took_over
    _wait("the index to reach the head", lambda: _checkpoint(engine) >= head, timeout=120)
    assert_index_equals_chain(engine, client)
    assert other.get("/v1/health")["chain"]["indexedBlock"] >= head

    # a third replica joins; a look-alike is claimed while the surviving replica indexes
    third = Replica("c", client, database_url, tmp_path).started()
    replicas.append(third)
    client.claim_namespace("load0-1ab")  # 'l' for '1': a look-alike of load0-lab, claimed later
    lookalike_block = client.block_number()
    _wait("the look-alike to be indexed", lambda: _checkpoint(engine) >= lookalike_block, timeout=60)

    def flagged() -> bool:
        events = third.get("/v1/feed", namespace="load0-lab")["events"]
        return any(e["event"] == "NamespaceClaimed" and e["args"]["namespace"] == "load0-1ab" for e in events)

    _wait("replica c's feed to flag the look-alike", flagged, timeout=30)
    alert = next(
        e for e in third.get("/v1/feed", namespace="load0-lab")["events"] if e["args"].get("namespace") == "load0-1ab"
    )["alerts"]
    assert [c["namespace"] for c in alert["confusableWith"]] == ["load0-lab"]
    assert [c["namespace"] for c in third.get("/v1/namespaces/load0-1ab")["confusableWith"]] == ["load0-lab"]
    assert third.get("/v1/namespaces/load0-lab")["confusableWith"] == []  # the original is not tainted

    for r in replicas:
        if r is not leader:
            r.stop()
    for r in replicas:
        logged = r.logged()
        for bad in ("duplicate key", "UniqueViolation", "IntegrityError", "Traceback"):
            assert bad not in logged, (r.name, logged[-3000:])
