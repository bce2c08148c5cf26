"""App-store checks served from the index vs computed from the chain per request; indexer catch-up.

Run: ``.venv/bin/python bench/check.py [--events N]`` (after ``make setup``). On a throwaway anvil:

1. fills a registry with N events (default 10,000: namespaces, signers, releases, operators,
   endorsements; per namespace ``lab-NNNNN`` one claim, one signer, four releases, one operator,
   two endorsements), sending signed transactions in bulk with automine off;
2. **catch-up**: indexes them all (``Indexer.sync_once``: eth_getLogs, decoding, the state rules,
   the look-alike check of every claimed name, the writes and the checkpoint) into a fresh SQLite
   index and into a fresh PostgreSQL database (a throwaway PostgreSQL 15 server, ``tools/postgres.py``;
   skipped if it is not installed); events/s, median of 3 fresh indexes each. Target: >= 10,000
   events/s on both (issue 19);
3. **check throughput**: the `/v1/check` verdict for a release, (a) from the index
   (``verifier.check.judge`` over ``IndexFacts``, what the service does) vs (b) the same verdict
   computed with direct contract calls per request (``registry.chain.client.RegistryClient``: release
   storage, its ``ReleasePublished`` event, head block), alternating rounds, median checks/s.
   Target: (a) >= 10x (b).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlalchemy.engine import Engine
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import throwaway_anvil
from registry.names import ReleaseName, did_id
from registry.signing.keys import Ed25519Key
from registry.verdict import ChainView, Check, Verdict
from tools.postgres import new_database, throwaway_postgres
from verifier.check import IndexFacts, judge
from verifier.index.indexer import Indexer
from verifier.index.schema import make_engine
from verifier.services import Services
from verifier.settings import VerifierSettings


class Filler:
    """Sends many signed transactions without waiting for each receipt; mines in blocks."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self.w3 = client.w3
        assert client.account is not None
        self.acct = client.account
        self.nonce = self.w3.eth.get_transaction_count(self.acct.address, "pending")
        self.sent = 0

    def send(self, fn_name: str, *args: Any) -> None:
        fn = getattr(self.client.contract.functions, fn_name)(*args)
        tx = fn.build_transaction(
            {"from": self.acct.address, "nonce": self.nonce, "gas": 400_000, "chainId": 31337,
             "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
        )  # fmt: skip
        self.w3.eth.send_raw_transaction(self.acct.sign_transaction(tx).raw_transaction)
        self.nonce += 1
        self.sent += 1
        if self.sent % 300 == 0:
            self.mine()

    def mine(self) -> None:
        self.w3.provider.make_request("evm_mine", [])


def fill(client: RegistryClient, events: int) -> list[ReleaseName]:
    w3 = client.w3
    w3.provider.make_request("evm_setAutomine", [False])
    f = Filler(client)
    releases: list[ReleaseName] = []
    now = client.now()
    i = 0
    while f.sent < events:
        ns = f"lab-{i:05d}"
        did = Ed25519Key.generate().did
        f.send("claimNamespace", ns)
        f.send("addSigner", bytes(Web3.keccak(text=ns)), did)
        for v in range(4):
            rel = ReleaseName(ns, "chat", f"1.{v}")
            f.send("publishRelease", ns, "chat", rel.version, os.urandom(32), os.urandom(32), did_id(did))
            releases.append(rel)
        f.send("authorizeOperator", ns, "chat", "", Ed25519Key.generate().did, now + 10**7, [])
        for kind in ("audit.passed", "filing.submitted"):
            f.send("endorse", bytes(Web3.keccak(text=str(releases[-1]))), kind, os.urandom(32))
        i += 1
    f.mine()
    w3.provider.make_request("evm_setAutomine", [True])
    return releases


def chain_check(client: RegistryClient, url: str, rel: ReleaseName) -> Verdict:
    """The same verdict as the service's, computed from the chain for this one request."""
    view = ChainView(client.chain_id, client.address, client.block_number())
    info = client.release(rel)
    checks: list[Check] = []
    if info is None:
        checks.append(Check("release", "fail", f"{rel} is not registered", decisive="unverified"))
    else:
        checks.append(Check("release", "pass", f"{rel} is registered"))
        checks.append(
            Check("not-revoked", "fail", "revoked", decisive="revoked")
            if info.revoked
            else Check("not-revoked", "pass", "not revoked")
        )
    checks.append(Check("identity", "skip", "endpoint identity check not available in this verifier version"))
    verdict = Verdict.decide(checks)
    return Verdict("unverified" if verdict == "verified" else verdict, tuple(checks), str(rel), view, {"url": url})


def catch_up(engine: Engine, w3: Web3, client: RegistryClient, logs: int) -> float:
    """Index the whole registry into ``engine`` (a fresh index); events/s."""
    idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block)
    t = time.perf_counter()
    added = idx.sync_once()
    rate = added / (time.perf_counter() - t)
    assert added == logs, (added, logs)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--checks", type=int, default=300)
    args = ap.parse_args()
    with throwaway_anvil("--gas-limit", "300000000") as url:
        w3 = Web3(Web3.HTTPProvider(url))
        client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[0]))
        t0 = time.perf_counter()
        releases = fill(client, args.events)
        fill_s = time.perf_counter() - t0
        logs = len(w3.eth.get_logs({"address": client.address, "fromBlock": 0, "toBlock": "latest"}))

        catchup: dict[str, list[float]] = {"SQLite": [], "PostgreSQL": []}
        with contextlib.ExitStack() as stack:
            try:
                server = stack.enter_context(throwaway_postgres())
            except (RuntimeError, OSError, subprocess.CalledProcessError):
                pass  # not installed here: the row says so
            else:
                for _ in range(3):
                    pg = make_engine(new_database(server))
                    catchup["PostgreSQL"].append(catch_up(pg, w3, client, logs))
                    pg.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(3):
                engine = make_engine(f"sqlite:///{Path(tmp) / f'index{run}.sqlite'}")
                catchup["SQLite"].append(catch_up(engine, w3, client, logs))
            idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block)
            settings = VerifierSettings(home=Path(tmp), rpc_url=url, registry=client.address, index_in_background=False)
            svc = Services(settings, engine, idx, None, "bench")
            targets = [releases[(i * 7919) % len(releases)] for i in range(args.checks)]
            index_rates, chain_rates = [], []
            for _ in range(5):  # alternate the two so both see the same machine state
                t = time.perf_counter()
                for rel in targets:
                    facts = IndexFacts(svc)
                    fact = facts.release(rel)
                    v = judge("https://chat.example", rel, fact, facts.confusions(rel.namespace), facts.view()).verdict
                    assert v.verdict == "unverified"
                index_rates.append(len(targets) / (time.perf_counter() - t))
                t = time.perf_counter()
                for rel in targets:
                    assert chain_check(client, "https://chat.example", rel).verdict == "unverified"
                chain_rates.append(len(targets) / (time.perf_counter() - t))
    idx_rate, chain_rate = statistics.median(index_rates), statistics.median(chain_rates)
    print(f"Registry filled with {logs} events ({len(releases)} releases) in {fill_s:.0f} s.\n")
    print("| figure | value |")
    print("| --- | --- |")
    for db, rates in catchup.items():
        figure = f"{statistics.median(rates):,.0f} events/s" if rates else "not measured (PostgreSQL 15 not installed)"
        print(f"| indexer catch-up, {db}, median of 3 | {figure} (target >= 10,000) |")
    print(f"| `/v1/check` verdicts from the index (median of 5 rounds of {args.checks}) | {idx_rate:,.0f} checks/s |")
    print(f"| same verdict from direct contract calls per request | {chain_rate:,.0f} checks/s |")
    print(f"| **ratio index / chain** | **{idx_rate / chain_rate:.1f}x** (target >= 10x) |")


if __name__ == "__main__":
    main()
