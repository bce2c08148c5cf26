"""One writer at a time (verifier/index/lease.py), on SQLite and on a real PostgreSQL: the lease is
held by one process, changes hands only after it expires (by the database's clock) with a higher
fencing token, and a writer that lost it writes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from test_indexer import assert_index_equals_chain, client, populate, w3  # noqa: F401 (fixtures)

from registry.chain.client import RegistryClient
from verifier.index.indexer import Indexer
from verifier.index.lease import Lease, LeaseLost
from verifier.index.schema import make_engine


def test_one_holder_at_a_time_and_the_token_fences_the_old_one(database_url: str) -> None:
    engine = make_engine(database_url)
    a, b = Lease(engine, "replica-a", ttl=1.0), Lease(engine, "replica-b", ttl=1.0)
    assert a.acquire() and not b.acquire()
    first = a.token
    assert a.acquire() and a.token == first  # renewing keeps the token
    with engine.begin() as conn:
        a.fence(conn)  # a write while it holds the lease
    time.sleep(1.3)  # a stops renewing (paused, partitioned, killed): its lease expires
    assert b.acquire() and b.token == (first or 0) + 1
    with pytest.raises(LeaseLost), engine.begin() as conn:
        a.fence(conn)  # the old holder wakes up and tries to write: refused, rolled back
    assert not a.held and not a.acquire()
    b.release()
    assert a.acquire() and a.token == (first or 0) + 2  # a clean release hands over at once


def test_a_writer_that_lost_the_lease_writes_nothing(client: RegistryClient, database_url: str) -> None:  # noqa: F811
    populate(client, "fence", releases=2)
    engine = make_engine(database_url)
    a = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, lease=Lease(engine, "a", ttl=1.0))
    b = Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, lease=Lease(engine, "b", ttl=1.0))
    assert a.lease.acquire()
    time.sleep(1.3)
    assert b.lease.acquire()  # b took over while a was paused
    head = client.block_number()
    with pytest.raises(LeaseLost):
        a._index_range(client.deploy_block, head)  # a's batch, started with its old token
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0
    assert a.sync_once() == 0 and not a.leading  # a follows now
    assert b.sync_once() > 0
    assert_index_equals_chain(engine, client)


def test_replicas_indexing_at_once_never_collide(client: RegistryClient, database_url: str) -> None:  # noqa: F811
    """Three replicas call sync_once as fast as they can while the chain grows: one indexes, the
    others follow; no duplicate key, nothing lost."""
    engine = make_engine(database_url)
    replicas = [
        Indexer(engine, client.w3, client.address, deploy_block=client.deploy_block, batch_blocks=2,
                lease=Lease(engine, f"replica-{i}", ttl=2.0))
        for i in range(3)
    ]  # fmt: skip
    errors: list[BaseException] = []
    stop = threading.Event()

    def run(idx: Indexer) -> None:
        while not stop.is_set():
            try:
                idx.sync_once()
            except BaseException as exc:  # any error at all fails the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            populate(client, f"busy{i}", releases=3)
    finally:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with Session(engine) as s:
                done = s.execute(text("SELECT block_number FROM checkpoint")).scalar()
            if done is not None and done >= client.block_number():
                break
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    assert sum(r.leading for r in replicas) == 1
    assert_index_equals_chain(engine, client)


def test_a_writer_stuck_mid_transaction_never_makes_a_contender_hang(postgres_server: str) -> None:
    """Found in review: a holder paused between its fence and its commit kept the lease row
    locked, and a contender's acquire waited on it for as long as that lasted."""
    from tools.postgres import new_database

    engine = make_engine(new_database(postgres_server))
    a, b = Lease(engine, "paused", ttl=1.0), Lease(engine, "contender", ttl=1.0)
    assert a.acquire()
    with engine.connect() as conn:
        stuck = conn.begin()
        a.fence(conn)  # holds the row lock, then does nothing
        time.sleep(1.2)  # the lease expires by the database's clock
        t = time.monotonic()
        assert not b.acquire()  # refused after about a second, not blocked until the commit
        assert time.monotonic() - t < 5
        stuck.rollback()
    first = a.token
    assert first is not None and b.acquire() and b.token == first + 1  # then the expired lease changes hands


def test_a_lease_shorter_than_three_polls_is_refused(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from verifier.settings import VerifierSettings

    with pytest.raises(ValidationError, match="at least three polls"):
        VerifierSettings(home=tmp_path, lease_seconds=2, poll_seconds=1)
    assert VerifierSettings(home=tmp_path, lease_seconds=3, poll_seconds=1).lease_seconds == 3
