"""Behavioural check: false accusations, detection per impostor kind, prompts and seconds per verdict.

Run: ``.venv/bin/python bench/behaviour.py [--honest N] [--impostor N]`` (after ``make setup``).
Serves the real SmolLM2 file and three impostors made from it (``tools.impostors``: one weight
changed, noise on one tensor, every tensor requantised) with real llama.cpp servers, asks each the
same fresh prompts with pinned sampling, and replays every prompt once on the reference weights.
Per prompt it records whether the endpoint's answer is identical to the replay; prompts are then
grouped into verdicts of ``--per-verdict`` prompts, each decided by ``verifier.behaviour.decide``.

Reported: the false-accusation rate (honest verdicts judged ``mismatch``; target 0), the
detection rate per impostor kind (target >= 99 %), and prompts and seconds per verdict (target
< 60 s on 2 cores). Defaults: 200 honest prompts, 56 per impostor kind.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from registry.identity.serve import start_plain_llama
from registry.names import ReleaseName
from tools.impostors import make_impostor
from verifier.behaviour import (
    PromptResult,
    PromptSource,
    Replayer,
    SamplingParams,
    compare,
    decide,
    engine_version,
    parse_chat,
    summarise,
)

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
MODEL = Path(os.environ.get("MODELSEAL_TEST_MODEL", ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
KINDS = ("one-weight", "tensor-noise", "requantized")


def _serve(model: Path) -> tuple[str, subprocess.Popen[bytes]]:
    url, proc = start_plain_llama(model)
    return url, proc


def _ask(url: str, prompt: str, params: SamplingParams) -> Any:
    body = {"model": REL.model, "messages": [{"role": "user", "content": prompt}], "logprobs": True, "top_logprobs": 1}
    body.update(asdict(params))
    resp = httpx.post(url + "/v1/chat/completions", json=body, timeout=120)
    resp.raise_for_status()
    return parse_chat(resp.json())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--honest", type=int, default=200)
    ap.add_argument("--impostor", type=int, default=56)
    ap.add_argument("--per-verdict", type=int, default=8)
    args = ap.parse_args()
    params = SamplingParams()
    tmp = Path(tempfile.mkdtemp(prefix="modelseal-behaviour-"))
    models = {"honest": MODEL, **{k: make_impostor(MODEL, tmp / f"{k}.gguf", k).dest for k in KINDS}}  # type: ignore[arg-type]
    servers: dict[str, str] = {}
    procs = []
    replayer = Replayer()
    results: dict[str, list[PromptResult]] = {name: [] for name in models}
    seconds: dict[str, list[float]] = {name: [] for name in models}
    try:
        for name, path in models.items():
            servers[name], proc = _serve(path)
            procs.append(proc)
        prompts = PromptSource(os.urandom(32)).prompts(os.urandom(8).hex(), args.honest)
        for i, prompt in enumerate(prompts):
            t = time.perf_counter()
            reference = replayer.generate(MODEL, prompt, params)
            replay_s = time.perf_counter() - t
            for name, url in servers.items():
                if name != "honest" and i >= args.impostor:
                    continue
                t = time.perf_counter()
                answer = _ask(url, prompt, params)
                seconds[name].append(time.perf_counter() - t + replay_s)
                results[name].append(compare(prompt, answer, reference))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    n = args.per_verdict

    def verdicts(rs: list[PromptResult]) -> list[str]:
        return [decide(summarise(rs[j : j + n])) for j in range(0, len(rs) - n + 1, n)]

    print(f"Engine: {engine_version()}, SmolLM2-135M-Instruct Q4_1, sampling {asdict(params)}.")
    print(f"Verdicts of {n} prompts each.\n")
    print("| endpoint | prompts | identical to the replay | verdicts | match | inconclusive | mismatch | s/verdict |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    summary = {}
    for name, rs in results.items():
        vs = verdicts(rs)
        same = sum(1 for r in rs if r.same_text and (r.max_gap or 0.0) <= 1e-4)
        per_verdict = statistics.mean(seconds[name]) * n
        summary[name] = vs
        print(
            f"| {name} | {len(rs)} | {same} ({same / len(rs):.1%}) | {len(vs)} | {vs.count('match')} | "
            f"{vs.count('inconclusive')} | {vs.count('mismatch')} | {per_verdict:.1f} |"
        )
    print("\n| endpoint | largest logprob gap per prompt: min | median | max | prompts with text differing |")
    print("| --- | --- | --- | --- | --- |")
    for name, rs in results.items():
        gaps = sorted(r.max_gap or 0.0 for r in rs)
        differing = sum(1 for r in rs if not r.same_text)
        print(f"| {name} | {gaps[0]:.4f} | {statistics.median(gaps):.4f} | {gaps[-1]:.4f} | {differing}/{len(rs)} |")
    honest = summary["honest"]
    print(f"\nfalse accusations (honest judged mismatch): {honest.count('mismatch')}/{len(honest)}")
    for kind in KINDS:
        vs = summary[kind]
        print(f"detection {kind}: {vs.count('mismatch')}/{len(vs)} = {vs.count('mismatch') / max(1, len(vs)):.1%}")


if __name__ == "__main__":
    main()
