"""Behavioural check: false accusations, detection per endpoint kind, prompts and seconds per verdict.

Run: ``.venv/bin/python bench/behaviour.py [--honest N] [--tolerance N] [--text-only N] [--impostor N]``
(after ``make setup``; about half an hour with the defaults).
Serves the real SmolLM2 file and impostors made from it (``tools.impostors``) with real llama.cpp
servers, and runs whole behavioural checks (``verifier.behaviour.run_behaviour``: fresh prompts
drawn until the evidence decides) against each, as the verifier does. Endpoint kinds:

* ``honest, same build`` - the registered file; the endpoint declares the verifier's engine build,
  so the exact comparison applies;
* ``honest, undeclared`` - the registered file, no declaration: the tolerance comparison (as for an
  endpoint on another build);
* ``late-ffn-4bit`` (one 4-bit weight of the last FFN), ``one-weight``, ``tensor-noise``,
  ``requantized``, ``chat-template`` (template only) - the impostor kinds of ``tools.impostors``,
  each declaring the verifier's build (what ``modelseal serve`` on that file declares);
* ``name-metadata`` - only ``general.name`` changed: the same behaviour, so ``match`` is right;
* ``requantized, undeclared`` - the requantised copy under the tolerance comparison;
* ``honest, no logprobs`` / ``tensor-noise, no logprobs`` - a proxy drops the log-probabilities
  from the answers (text-only evidence);
* ``honest, other build`` / ``requantized, other build`` - served by a second llama-cpp-python build
  (``--other-build``, docs/development.md), each declaring that build: the tolerance comparison
  as calibrated (docs/behaviour.md).

Reported per kind: checks run, decisions, detection rate (impostors) or false accusations
(honest), prompts per decision and seconds per verdict (median). Targets: 0 false accusations;
weight changes detected in >= 99 % of same-build checks; median <= 10 s per verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from registry.identity.serve import start_plain_llama
from registry.names import ReleaseName
from tools.impostors import make_impostor
from verifier.behaviour import BehaviourResult, PromptSource, Replayer, engine_version, run_behaviour
from verifier.guard import GuardedClient, GuardPolicy

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
MODEL = Path(os.environ.get("MODELSEAL_TEST_MODEL", ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
OTHER_BUILD = Path(".modelseal/bench/llama-other")
"""Where docs/development.md's recipe puts a second llama-cpp-python build (other CPU flags)."""


def _other_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder.resolve()), os.getcwd()])}


def _engine_of(folder: Path) -> str:
    code = "from registry.identity.serve import engine_build; print(engine_build())"
    import sys

    out = subprocess.run([sys.executable, "-c", code], env=_other_env(folder), capture_output=True, text=True)
    out.check_returncode()
    return out.stdout.strip()


IMPOSTORS = ("late-ffn-4bit", "one-weight", "tensor-noise", "requantized", "chat-template")
SAME_BEHAVIOUR = ("name-metadata",)  # another file, the same behaviour: a match is the right answer


def _strip_logprobs(upstream: str) -> ThreadingHTTPServer:
    """A proxy that answers like an endpoint ignoring ``logprobs``: the field is removed."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            resp = httpx.post(upstream + self.path, content=body, headers={"content-type": "application/json"},
                              timeout=120)  # fmt: skip
            doc = resp.json()
            for choice in doc.get("choices", []):
                choice.pop("logprobs", None)
            out = json.dumps(doc).encode()
            self.send_response(resp.status_code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--honest", type=int, default=100, help="checks of the honest endpoint, same build")
    ap.add_argument("--tolerance", type=int, default=30, help="checks per kind under the tolerance rule")
    ap.add_argument("--text-only", type=int, default=10, help="checks per kind without log-probabilities")
    ap.add_argument("--impostor", type=int, default=20, help="checks per impostor kind (same build)")
    ap.add_argument("--other", type=int, default=100, help="checks per kind on the second engine build")
    ap.add_argument(
        "--seeds", type=int, default=5, help="impostor files per kind (seeds 0..N-1), checks split among them"
    )
    ap.add_argument(
        "--other-build",
        type=Path,
        default=OTHER_BUILD if OTHER_BUILD.is_dir() else None,
        help="a folder holding another build of llama_cpp (pip install --target DIR with other CMAKE_ARGS): "
        f"adds honest and requantised endpoints served by it [default: {OTHER_BUILD} if present]",
    )
    ap.add_argument("--only", help="run only the endpoint kinds whose names contain one of these texts (a,b,...)")
    args = ap.parse_args()
    ours = engine_version()
    tmp = Path(tempfile.mkdtemp(prefix="modelseal-behaviour-"))
    seeded = {f"{k}@{s}": (k, s) for k in IMPOSTORS if k != "requantized" for s in range(1, args.seeds)}
    files = {
        "honest": MODEL,
        **{k: make_impostor(MODEL, tmp / f"{k}.gguf", k).dest for k in (*IMPOSTORS, *SAME_BEHAVIOUR)},
        **{name: make_impostor(MODEL, tmp / f"{k}-{s}.gguf", k, seed=s).dest for name, (k, s) in seeded.items()},
    }
    procs: list[subprocess.Popen[bytes]] = []
    proxies: list[ThreadingHTTPServer] = []
    urls: dict[str, str] = {}
    try:
        for name, path in files.items():
            urls[name], proc = start_plain_llama(Path(path))
            procs.append(proc)
        other: str | None = None
        if args.other_build is not None:
            other = _engine_of(args.other_build)
            for name in ("honest", "requantized"):
                urls[f"{name}, other build"], proc = start_plain_llama(
                    Path(files[name]), env=_other_env(args.other_build)
                )
                procs.append(proc)
        for name in ("honest", "tensor-noise"):
            proxy = _strip_logprobs(urls[name])
            proxies.append(proxy)
            urls[f"{name}, no logprobs"] = f"http://127.0.0.1:{proxy.server_address[1]}"
        # (kind, url key, declared engine, checks, expected decision)
        kinds: list[tuple[str, str, str | None, int, str]] = [
            ("honest, same build", "honest", ours, args.honest, "match"),
            ("honest, undeclared", "honest", None, args.tolerance, "match"),
            *[(k, k, ours, args.impostor, "mismatch") for k in IMPOSTORS],
            *[(k, k, ours, args.impostor, "match") for k in SAME_BEHAVIOUR],
            ("requantized, undeclared", "requantized", None, args.tolerance, "mismatch"),
            ("honest, no logprobs", "honest, no logprobs", ours, args.text_only, "match"),
            ("tensor-noise, no logprobs", "tensor-noise, no logprobs", ours, args.text_only, "mismatch"),
        ]
        if other is not None:  # each declares its own build, as `modelseal serve` there would
            kinds += [
                ("honest, other build", "honest, other build", other, args.other, "match"),
                ("requantized, other build", "requantized, other build", other, args.other, "mismatch"),
            ]
        if args.only:
            wanted = [w for w in args.only.split(",") if w]
            kinds = [k for k in kinds if any(w in k[0] for w in wanted)]
        guard = GuardedClient(GuardPolicy(allow_loopback=True, read_timeout=120, total_timeout=300))
        replayer = Replayer()
        source = PromptSource(os.urandom(32))
        results: dict[str, list[BehaviourResult]] = {}
        for kind, key, declared, checks, _ in kinds:
            # an impostor kind's checks are spread over its seeds' files (seed 0 is `key` itself)
            keys = [key, *(n for n, (k, _) in seeded.items() if k == key)] if key in IMPOSTORS else [key]
            results[kind] = [
                run_behaviour(
                    guard, urls[keys[i % len(keys)]], REL, MODEL, "bench", source, replayer, declared_engine=declared
                )
                for i in range(checks)
            ]
    finally:
        for proxy in proxies:
            proxy.shutdown()
        for p in procs:
            p.terminate()
            p.wait()

    print(f"Verifier engine: {ours}; SmolLM2-135M-Instruct Q4_1; every check a whole run_behaviour().")
    print(f"Other build: {other or 'none (see --other-build)'}.")
    print(f"Impostor files per kind: {args.seeds} (seeds 0-{args.seeds - 1}; requantized: one file, any seed).\n")
    print(
        "| endpoint | comparison | checks | match | inconclusive | mismatch | expected | rate | "
        "prompts per decision (median, max) | s per verdict (median) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    summary: dict[str, Any] = {}
    for kind, _key, _declared, _checks, expected in kinds:
        rs = results[kind]
        decisions = Counter(r.decision for r in rs)
        prompts = [r.statistic.prompts for r in rs]
        seconds = statistics.median(r.seconds for r in rs)
        rate = decisions[expected] / len(rs)
        summary[kind] = (decisions, expected, seconds)
        label = "false accusations" if expected == "match" else "detected"
        value = decisions["mismatch"] / len(rs) if expected == "match" else rate
        comparison = rs[0].comparison + (", text only" if rs[0].text_only else "")
        print(
            f"| {kind} | {comparison} | {len(rs)} | {decisions['match']} | {decisions['inconclusive']} | "
            f"{decisions['mismatch']} | {expected} | {label} {value:.1%} | {statistics.median(prompts):g}, "
            f"{max(prompts)} | {seconds:.1f} |"
        )
    honest_kinds = [k for k, (_, e, _) in summary.items() if e == "match"]
    accusations = sum(summary[k][0]["mismatch"] for k in honest_kinds)
    honest_checks = sum(sum(summary[k][0].values()) for k in honest_kinds)
    print(f"\nfalse accusations over all honest checks: {accusations}/{honest_checks}")
    for kind in (k for k, (_, e, _) in summary.items() if e == "mismatch"):
        decisions = summary[kind][0]
        total = sum(decisions.values())
        print(f"detection {kind}: {decisions['mismatch']}/{total} = {decisions['mismatch'] / total:.1%}")
    if "honest, same build" in summary:
        same_build = summary["honest, same build"][2]
        print(f"median seconds per verdict, honest same build: {same_build:.1f} (target <= 10 s)")
    if other is None:
        print("\nNot measured in this run: an honest endpoint on a second engine build (--other-build).")


if __name__ == "__main__":
    main()
