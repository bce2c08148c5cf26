"""Time of a full endpoint identity check, without the chat completion itself.

Run: ``.venv/bin/python bench/identity.py [--checks N]`` (after ``make setup``). Starts a throwaway
anvil with the SmolLM2 release, a real llama.cpp chatbot under an authorised operator key
(``modelseal serve``), and the verifier's services over an index of that chain; then runs N full
checks (claim + fresh challenge + chain facts from the index + one chat completion and its
receipt) and reports, per check, the total and the part spent outside the chat completion's HTTP
round trip (the model's generation time is the operator's, not the protocol's). Target: <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import free_port, throwaway_anvil
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key, Keystore
from verifier.app import build_services
from verifier.check import IndexFacts, chain_check
from verifier.guard import GuardedClient, GuardPolicy
from verifier.probe import Prober
from verifier.settings import VerifierSettings

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
MODEL = Path(os.environ.get("MODELSEAL_TEST_MODEL", ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))


class TimedClient(GuardedClient):
    """Records how long each chat-completion round trip took."""

    chat_seconds: list[float]

    def request(self, method: str, url: str, **kw: Any) -> Any:
        t = time.perf_counter()
        resp = super().request(method, url, **kw)
        if url.endswith("/chat/completions"):
            self.chat_seconds.append(time.perf_counter() - t)
        return resp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=30)
    args = ap.parse_args()
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="modelseal-bench-"))
    with ExitStack() as stack:
        rpc = stack.enter_context(throwaway_anvil())
        stack.callback(lambda: [(p.terminate(), p.wait()) for p in procs])
        w3 = Web3(Web3.HTTPProvider(rpc))
        client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[0]))
        publisher, operator = Ed25519Key.generate(), Ed25519Key.generate()
        client.claim_namespace(REL.namespace)
        client.add_signer(REL.namespace, publisher.did)
        client.publish(REL, os.urandom(32), hash_model(MODEL).weights.value, publisher.did)
        client.authorize_operator(REL.namespace, REL.model, None, operator.did, client.now() + 10**6)
        Keystore(tmp / "keys").save("operator", operator)
        env = {
            **os.environ,
            "MODELSEAL_RPC_URL": rpc,
            "MODELSEAL_REGISTRY": client.address,
            "MODELSEAL_KEYS": str(tmp / "keys"),
        }
        chat_port = free_port()
        cmd = [sys.executable, "-m", "registry", "serve", str(MODEL), "--release", str(REL), "--key", "operator"]
        procs.append(subprocess.Popen([*cmd, "--port", str(chat_port)], env=env, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{chat_port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/.well-known/model-identity", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        settings = VerifierSettings(
            home=tmp / "verifier", rpc_url=rpc, registry=client.address, deploy_block=client.deploy_block,
            index_in_background=False, allow_loopback_targets=True,
        )  # fmt: skip
        svc = build_services(settings)
        svc.indexer.sync_once()
        guard = TimedClient(GuardPolicy(allow_loopback=True))
        guard.chat_seconds = []
        prober = Prober(guard)
        totals: list[float] = []
        for i in range(args.checks + 3):
            t = time.perf_counter()
            facts = IndexFacts(svc)
            result = prober.probe(url, REL, lambda claim, origin, f=facts: chain_check(claim, f, f.view(), origin))
            elapsed = time.perf_counter() - t
            assert all(c.status == "pass" for c in result.checks), result.checks
            if i >= 3:  # warm-up: first connections, first completion
                totals.append(elapsed)
        chats = guard.chat_seconds[3:]
        protocol = [total - chat for total, chat in zip(totals, chats, strict=True)]
    print(f"{args.checks} full checks of a local SmolLM2 chatbot (llama.cpp, 1 thread) through the guarded client.\n")
    print("| figure | median | p90 |")
    print("| --- | --- | --- |")

    def row(name: str, xs: list[float]) -> None:
        xs = sorted(xs)
        print(f"| {name} | {statistics.median(xs) * 1000:.1f} ms | {xs[int(len(xs) * 0.9) - 1] * 1000:.1f} ms |")

    row("whole check (claim + challenge + chain + chat + receipt)", totals)
    row("chat completion round trip (a question drawn per check, up to 8 tokens)", chats)
    row("**identity check without the completion**", protocol)
    verdict = "met" if statistics.median(protocol) <= 0.050 else "MISSED"
    print(f"\ntarget <= 50 ms without the completion: {verdict}")


if __name__ == "__main__":
    main()
