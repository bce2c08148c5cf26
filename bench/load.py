"""Load: 50 concurrent clients for 60 s against a running verifier, on SQLite and on PostgreSQL.

Two measurements per database:

1. **reads vs a bare app** (the target of issue 19): ``wrk`` (a native load generator, Debian's
   ``wrk``, installed by the Makefile), 50 connections, release and weights lookups spread over
   100 published releases, against the verifier and, side by side in the same run, against a
   bare ASGI app answering one constant JSON document on the same uvicorn (``bench/_bare.py``).
   Target: the verifier reaches at least half the bare app's throughput, with a p99 at most twice
   the bare app's. Its answers come from its read cache (``verifier/cache.py``) once computed, as
   an app store's repeated lookups do; a last row, for the record, has every answer computed
   afresh (each request with a query string of its own).
2. **a mixed load** (below): Python clients, one in ten asking for app-store checks.

Run: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--only sqlite|postgresql]``
(after ``make setup``). On a throwaway anvil with the real SmolLM2 release published and its
operator authorised, it starts the real chatbot (``modelseal serve``) and the real verifier
(``modelseal verifier serve``, uvicorn, one process) as subprocesses, then runs N clients
(asyncio, ``httpx``, one keep-alive connection each) for the given time, each sending one request
after another: one client in ten asks for app-store checks of the local chatbot (``GET /v1/check``:
the verifier contacts the chatbot: claim, challenge, one chat completion and its receipt), the
others release lookups (``GET /v1/releases/...``) and weights lookups (``GET /v1/weights/...``),
half each.

Reported per database: requests and throughput, p50/p99 latency per kind, errors (any status
other than 200, or a failed connection), the verifier's peak RSS, and the throughput ratio of N
clients to one client measured in the same run. The verifier's rate limits are raised for the run
(they are what is being loaded, not what is measured); its check slots stay at their defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from eth_account import Account
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.chain.devchain import free_port, throwaway_anvil
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key, Keystore
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest
from tools.postgres import new_database, throwaway_postgres
from tools.waiting import wait_http

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
MODEL = Path(os.environ.get("MODELSEAL_TEST_MODEL", ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
KINDS = ("release", "weights", "check")
READ_RELEASES = 100


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _run(base: str, paths: dict[str, str], clients: int, seconds: float, pid: int) -> dict[str, object]:
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: dict[str, int] = {}
    peak = [_rss_kib(pid)]
    stop = time.monotonic() + seconds

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while time.monotonic() < stop:
                kind = "check" if seed % 10 == 9 or (clients == 1 and rng.random() < 0.1) else rng.choice(KINDS[:2])
                t = time.perf_counter()
                try:
                    resp = await http.get(paths[kind])
                    ok = resp.status_code == 200
                    why = str(resp.status_code)
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                latencies[kind].append(time.perf_counter() - t)
                if not ok:
                    errors[f"{kind} {why}"] = errors.get(f"{kind} {why}", 0) + 1

    async def sample() -> None:
        while time.monotonic() < stop:
            peak[0] = max(peak[0], _rss_kib(pid))
            await asyncio.sleep(0.5)

    started = time.monotonic()
    await asyncio.gather(sample(), *(client(i) for i in range(clients)))
    return {"latencies": latencies, "errors": errors, "seconds": time.monotonic() - started, "rss": peak[0]}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _listed(errors: dict[str, int]) -> str:
    return " (" + ", ".join(f"{k}: {n}" for k, n in errors.items()) + ")" if errors else ""


def measure(
    database: str,
    base_env: dict[str, str],
    chatbot: str,
    manifest: Manifest,
    args: argparse.Namespace,
    read_paths: list[str],
    tmp: Path,
) -> str:
    port = free_port()
    env = {
        **base_env,
        "MODELSEAL_DATABASE_URL": database,
        "MODELSEAL_ALLOW_LOOPBACK_TARGETS": "true",
        "MODELSEAL_RATE_LIMIT": "1000000/minute",
        "MODELSEAL_OUTBOUND_RATE_LIMIT": "1000000/minute",
        "MODELSEAL_TARGET_RATE_LIMIT": "1000000/minute",
    }
    argv = [sys.executable, "-m", "registry", "verifier", "serve", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/v1/health", proc)
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/v1/releases/{REL}").status_code != 200:
            assert time.monotonic() < deadline, "the verifier did not index the release"
            time.sleep(0.2)
        paths = {
            "release": f"/v1/releases/{REL}",
            "weights": f"/v1/weights/{manifest.weights.digest}",
            "check": f"/v1/check?url={chatbot}&release={REL}",
        }
        assert httpx.get(base + paths["check"], timeout=60).json()["verdict"] == "verified"
        while httpx.get(base + read_paths[-1]).status_code != 200:
            assert time.monotonic() < deadline + 60, "the verifier did not index every release"
            time.sleep(0.2)
        side_by_side = reads_vs_bare(base, read_paths, args, tmp)
        one = asyncio.run(_run(base, paths, 1, min(15.0, args.seconds), proc.pid))
        many = asyncio.run(_run(base, paths, args.clients, args.seconds, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lat = many["latencies"]
    assert isinstance(lat, dict)
    total = sum(len(v) for v in lat.values())
    rate = total / float(many["seconds"])  # type: ignore[arg-type]
    one_lat = one["latencies"]
    assert isinstance(one_lat, dict)
    one_rate = sum(len(v) for v in one_lat.values()) / float(one["seconds"])  # type: ignore[arg-type]
    errors = many["errors"]
    assert isinstance(errors, dict)
    rows = [
        f"| requests in {args.seconds:.0f} s, {args.clients} clients | {total:,} |",
        f"| throughput | {rate:,.0f} req/s |",
        f"| **throughput ratio {args.clients} clients / 1 client** | **{rate / one_rate:.1f}x** "
        f"({one_rate:,.0f} req/s alone) |",
        *(
            f"| {kind}: p50 / p99 | {_pct(v, 0.5):,.1f} ms / {_pct(v, 0.99):,.1f} ms ({len(v):,} requests) |"
            for kind, v in lat.items()
        ),
        f"| all: p50 / p99 | {_pct([x for v in lat.values() for x in v], 0.5):,.1f} ms / "
        f"{_pct([x for v in lat.values() for x in v], 0.99):,.1f} ms |",
        f"| errors | {sum(errors.values())}{_listed(errors)} |",
        f"| verifier peak RSS | {int(many['rss']) / 1024:,.0f} MiB |",  # type: ignore[call-overload]
    ]
    mixed = "\n".join(["| figure | value |", "| --- | --- |", *rows])
    return f"{side_by_side}\n\nMixed load (Python clients, one in ten asking for checks):\n\n{mixed}"


WRK_SCRIPT = """
local paths = {%s}
local suffix = %s
local i = 0
request = function()
  i = i + 1
  local path = paths[(i %% #paths) + 1]
  if suffix then path = path .. "?nocache=" .. i end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.timeout))
end
"""


def wrk(
    base: str, paths: list[str], seconds: float, connections: int, tmp: Path, *, uncached: bool = False
) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 in ms, errors (non-2xx answers and socket errors).
    ``uncached``: each request carries a query string of its own, so no answer is served twice."""
    script = tmp / "paths.lua"
    script.write_text(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), "true" if uncached else "false"))
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-s", str(script), base],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    requests, duration_us, p50, p99, *errors = (int(v) for v in line.split()[1:])
    return {"rate": requests / (duration_us / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "errors": sum(errors), "requests": requests}  # fmt: skip


def reads_vs_bare(verifier: str, paths: list[str], args: argparse.Namespace, tmp: Path) -> str:
    """The verifier's release and weights lookups and the bare app, side by side, same wrk."""
    port = free_port()
    bare = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench._bare:app", "--port", str(port), "--log-level", "warning"],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/", bare)
        wrk(verifier, paths, 3, args.clients, tmp)  # warm the verifier's answers once
        ours = wrk(verifier, paths, args.seconds, args.clients, tmp)
        base = wrk(f"http://127.0.0.1:{port}", ["/"], args.seconds, args.clients, tmp)
        fresh = wrk(verifier, paths, min(args.seconds, 20), args.clients, tmp, uncached=True)
    finally:
        bare.terminate()
        bare.wait(timeout=20)
    ratio, p99_ratio = ours["rate"] / base["rate"], ours["p99"] / base["p99"]
    rows = [
        f"| verifier: release and weights lookups | {ours['rate']:,.0f} req/s | {ours['p50']:,.1f} ms | "
        f"{ours['p99']:,.1f} ms | {ours['errors']:,.0f} |",
        f"| bare ASGI app, constant JSON | {base['rate']:,.0f} req/s | {base['p50']:,.1f} ms | {base['p99']:,.1f} ms | "
        f"{base['errors']:,.0f} |",
        f"| **verifier / bare** | **{ratio:.2f}x** (target >= 0.5x) | | **{p99_ratio:.2f}x** (target <= 2x) | |",
        f"| verifier, every answer computed afresh (a query string of its own per request) | "
        f"{fresh['rate']:,.0f} req/s | {fresh['p50']:,.1f} ms | {fresh['p99']:,.1f} ms | {fresh['errors']:,.0f} |",
    ]
    head = f"wrk, {args.clients} connections, {args.seconds:.0f} s each, 2 threads\n\n"
    return head + "\n".join(["| server | throughput | p50 | p99 | errors |", "| --- | --- | --- | --- | --- |", *rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="modelseal-load-")))
        rpc = stack.enter_context(throwaway_anvil())
        client, _ = RegistryClient.deploy(Web3(Web3.HTTPProvider(rpc)), Account.from_key(ANVIL_DEV_KEYS[1]))
        publisher, operator = Ed25519Key.generate(), Ed25519Key.generate()
        Keystore(tmp / "keys").save("operator", operator)
        client.claim_namespace(REL.namespace)
        client.add_signer(REL.namespace, publisher.did)
        manifest = sign_manifest(Manifest.create(REL, publisher.did, hash_model(MODEL)), publisher)
        client.publish(REL, manifest.digest.value, bytes.fromhex(manifest.weights.digest), publisher.did)
        client.authorize_operator(REL.namespace, REL.model, None, operator.did, client.now() + 10**6)
        read_paths = [f"/v1/releases/{REL}", f"/v1/weights/{manifest.weights.digest}"]
        for i in range(1, READ_RELEASES):  # lookups spread over many releases, as an app store's are
            other = ReleaseName(REL.namespace, REL.model, f"1.0.{i}")
            weights = os.urandom(32)
            client.publish(other, os.urandom(32), weights, publisher.did)
            read_paths += [f"/v1/releases/{other}", f"/v1/weights/{weights.hex()}"]
        env = {
            **os.environ,
            "MODELSEAL_RPC_URL": rpc,
            "MODELSEAL_REGISTRY": client.address,
            "MODELSEAL_KEYS": str(tmp / "keys"),
            "MODELSEAL_HOME": str(tmp / "home"),
        }
        env.pop("MODELSEAL_PRIVATE_KEY", None)
        chat_port = free_port()
        chatbot = f"http://127.0.0.1:{chat_port}"
        argv = [sys.executable, "-m", "registry", "serve", str(MODEL), "--release", str(REL), "--key", "operator",
                "--port", str(chat_port)]  # fmt: skip
        bot = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(bot.wait, 20)
        stack.callback(bot.terminate)
        wait_http(chatbot + "/.well-known/model-identity", bot)
        print(
            f"{args.clients} clients for {args.seconds:.0f} s against `modelseal verifier serve` (one uvicorn "
            "process): one client in ten asks for `/v1/check` of the local SmolLM2 chatbot (identity, "
            "challenge, a chat completion and its receipt, per check), the others look up releases and "
            "weights; the single-client baseline asks for 10 % checks.\n"
        )
        if args.only in (None, "sqlite"):
            print("**SQLite** (WAL, in the data folder)\n")
            print(measure(f"sqlite:///{tmp / 'index.sqlite'}", env, chatbot, manifest, args, read_paths, tmp) + "\n")
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as server:
                print("**PostgreSQL 15** (local, default settings)\n")
                print(measure(new_database(server), env, chatbot, manifest, args, read_paths, tmp) + "\n")


if __name__ == "__main__":
    main()
