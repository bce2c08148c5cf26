"""Hashing speed: modelseal against b3sum and OpenSSF model_signing (OMS), whole processes.

Run: ``.venv/bin/python bench/hash.py [--runs N]`` (after ``make setup``); prints a markdown
section (``make bench`` puts it in ``docs/benchmarks.md``). Needs ``b3sum`` and the ``test`` extra
(``model-signing`` with ``pyopenssl``).

What is measured, in one run, on page-cached data:

* two data sets, generated once under ``.modelseal/bench/`` (git-ignored, reused while intact):
  (a) 4 x 1 GiB shards + 4 small files; (b) 20,000 files of 1-64 KiB in 40 folders;
* for each tool, the wall time of the whole process (start-up included) from spawn to exit,
  one warm-up round, then ``--runs`` rounds in alternation (the order rotates every round),
  reporting medians: ``b3sum`` (Debian, given the sorted file list: no directory walk),
  ``modelseal hash DIR --no-cache``, OMS ``model_signing`` 1.1.x through its Python API with
  sha256 (its default) and blake3 (file serialization), and, for comparison, modelseal's
  library (``registry.hashing.model.hash_model``) called from ``python -c``;
* peak memory in a separate run per tool (sampling would disturb the timings): peak RSS of the
  process tree (``ru_maxrss``; mapped page-cache pages count in it) and peak anonymous memory
  (``Pss_Anon`` summed over the process tree, sampled every 5 ms);
* start-up of ``modelseal --help`` and ``modelseal hash`` on a 1 KiB file;
* re-hash after editing one small file (same size, one byte flipped) with the hash cache,
  against a full ``--no-cache`` hash, as whole processes and inside one process.

Ratios are "times as fast" (comparator time / modelseal time), so >= 1 means modelseal is faster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import blake3

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
MODELSEAL = str(BIN / "modelseal")
DATA = REPO / ".modelseal" / "bench"
LIBRARY = "modelseal library, `python -c` (hash_model)"
GIB = 1 << 30
MIB = 1 << 20

OMS_SCRIPT = """
import sys
import model_signing
config = model_signing.hashing.Config().use_file_serialization(hashing_algorithm=sys.argv[2])
manifest = config.hash(sys.argv[1])
items = sorted((str(r.identifier), r.digest.digest_hex) for r in manifest.resource_descriptors())
if len(sys.argv) > 3:
    print("\\n".join(f"{d}  {n}" for n, d in items))
else:
    print(len(items))
"""

ENGINE_SCRIPT = """
import sys
from pathlib import Path
from registry.hashing.model import hash_model
md = hash_model(Path(sys.argv[1]))
sys.stdout.write("".join(f"{f.digest.hex}  {f.path}\\n" for f in md.files) + md.weights.hex + "\\n")
"""

INPROCESS_REHASH = """
import json, sys, time
from pathlib import Path
from registry.hashing.cache import HashCache
from registry.hashing.model import hash_model
root, edited, cache_file, runs = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
cache = HashCache(cache_file)
hash_model(root, cache=cache)          # fill the cache
full, cached = [], []
for _ in range(runs):
    data = bytearray(edited.read_bytes()); data[0] ^= 1; edited.write_bytes(bytes(data))
    t = time.perf_counter(); hash_model(root, cache=cache); cached.append(time.perf_counter() - t)
    t = time.perf_counter(); hash_model(root); full.append(time.perf_counter() - t)
print(json.dumps({"full": full, "cached": cached, "problem": cache.problem}))
"""


# --- data sets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSet:
    key: str
    title: str
    root: Path
    files: tuple[str, ...]  # sorted relative paths
    total: int
    edited: str  # the small file edited for the re-hash figure


def _fill(path: Path, size: int, seed: bytes) -> None:
    """Pseudo-random bytes (BLAKE3 XOF) written in 64 MiB pieces: incompressible, reproducible."""
    xof = blake3.blake3(seed)
    with open(path, "wb") as fh:
        for start in range(0, size, 64 * MIB):
            fh.write(xof.digest(length=min(64 * MIB, size - start), seek=start))


def _ensure(root: Path, spec: dict[str, int], make: Callable[[Path, dict[str, int]], None]) -> None:
    stamp = root.with_name(f"{root.name}.complete.json")  # beside the data: not part of it
    wanted = json.dumps(spec, sort_keys=True)
    intact = stamp.is_file() and stamp.read_text() == wanted
    if intact and all((root / p).is_file() and (root / p).stat().st_size == n for p, n in spec.items()):
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"generating {root} ({sum(spec.values()) / GIB:.2f} GiB) ...", file=sys.stderr)
    make(root, spec)
    stamp.write_text(wanted)


def large_set() -> DataSet:
    spec = {f"model-{i:05d}-of-00004.safetensors": GIB for i in range(1, 5)}
    spec |= {"config.json": 700, "generation_config.json": 150, "README.md": 5000, "tokenizer.json": 2_000_000}

    def make(root: Path, spec: dict[str, int]) -> None:
        for name, size in spec.items():
            _fill(root / name, size, name.encode())

    root = DATA / "large"
    _ensure(root, spec, make)
    return DataSet(
        "a", "(a) large files: 4 x 1 GiB + 4 small files", root, tuple(sorted(spec)), sum(spec.values()), "config.json"
    )


def small_set() -> DataSet:
    rng = random.Random(7)
    spec = {f"shard-{i // 500:03d}/part-{i:05d}.bin": rng.randint(1024, 64 * 1024) for i in range(20_000)}

    def make(root: Path, spec: dict[str, int]) -> None:
        for name, size in spec.items():
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_bytes(blake3.blake3(name.encode()).digest(length=size))

    root = DATA / "small"
    _ensure(root, spec, make)
    return DataSet(
        "b",
        "(b) many small files: 20,000 files of 1-64 KiB",
        root,
        tuple(sorted(spec)),
        sum(spec.values()),
        "shard-017/part-08765.bin",
    )


# --- running processes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    argv: list[str]
    cwd: Path


def _env(home: Path) -> dict[str, str]:
    """The environment every timed process gets: a private data folder, and Python allowed to
    use and write its byte-code cache, as on a user's machine (a CI or sandbox shell may set
    PYTHONDONTWRITEBYTECODE, which would make every start compile modelseal's modules again)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSEAL_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["MODELSEAL_HOME"] = str(home)
    return env


def compile_bytecode() -> None:
    """Write modelseal's byte code once before timing (an editable install leaves it to the first
    run; a wheel install writes it at install time)."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "registry"), str(REPO / "verifier")], check=True)


def run_timed(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time from spawn to exit, and the peak RSS (KiB) of the process or its children."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read()[-500:].decode(errors="replace")
            raise RuntimeError(f"{list(argv[:3])} failed ({proc.returncode}): {tail}")
    return elapsed, usage.ru_maxrss


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        with contextlib.suppress(OSError):  # the process may have exited meanwhile
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
    return pids


def _anon_kib(pid: int) -> int:
    """Anonymous memory of one process: proportional (``Pss_Anon``), so copy-on-write pages shared
    by forked workers are not counted twice; ``RssAnon`` where the kernel lacks smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss_Anon:"):
                return int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sampled(argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, int]:
    """Peak RSS (``ru_maxrss``) and peak anonymous memory of the process tree (sampled), in KiB."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_anon = 0
    while True:
        peak_anon = max(peak_anon, sum(_anon_kib(p) for p in _tree(proc.pid)))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss, peak_anon
        time.sleep(0.005)


def alternate(tools: Sequence[Tool], runs: int, env: dict[str, str]) -> dict[str, list[float]]:
    """One untimed warm-up round, then ``runs`` rounds; each round runs every tool once, starting
    from a different tool each time."""
    times: dict[str, list[float]] = {t.name: [] for t in tools}
    for round_ in range(runs + 1):
        for k in range(len(tools)):
            tool = tools[(round_ + k) % len(tools)]
            elapsed, _ = run_timed(tool.argv, cwd=tool.cwd, env=env)
            if round_:
                times[tool.name].append(elapsed)
    return times


# --- figures -------------------------------------------------------------------------------


def _med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def _fmt_s(x: float) -> str:
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def check_same_digests(ds: DataSet, env: dict[str, str]) -> None:
    """Before timing: b3sum, modelseal and OMS blake3 print the same per-file digests."""

    def parse(text: str) -> dict[str, str]:
        out = {}
        for line in text.splitlines():
            digest, _, name = line.partition("  ")
            if name and not line.startswith("weights "):
                out[name] = digest
        return out

    b3 = subprocess.run(["b3sum", *ds.files], cwd=ds.root, capture_output=True, text=True, check=True).stdout
    ms = subprocess.run(
        [MODELSEAL, "hash", str(ds.root), "--no-cache"], env=env, capture_output=True, text=True, check=True
    ).stdout
    oms = subprocess.run(
        [PYTHON, "-c", OMS_SCRIPT, str(ds.root), "blake3", "--print"], capture_output=True, text=True, check=True
    ).stdout
    if not parse(b3) == parse(ms) == parse(oms):
        raise SystemExit(f"digests disagree on data set {ds.key}: the benchmark would be meaningless")


def bench_dataset(ds: DataSet, runs: int, env: dict[str, str]) -> tuple[list[str], dict[str, float]]:
    root = str(ds.root)
    tools = [
        Tool("b3sum", ["b3sum", *ds.files], ds.root),
        Tool("modelseal hash --no-cache", [MODELSEAL, "hash", root, "--no-cache"], ds.root),
        Tool("OMS sha256 (default)", [PYTHON, "-c", OMS_SCRIPT, root, "sha256"], ds.root),
        Tool("OMS blake3", [PYTHON, "-c", OMS_SCRIPT, root, "blake3"], ds.root),
        Tool(LIBRARY, [PYTHON, "-c", ENGINE_SCRIPT, root], ds.root),
    ]
    check_same_digests(ds, env)
    times = alternate(tools, runs, env)
    memory = {t.name: run_sampled(t.argv, cwd=t.cwd, env=env) for t in tools}
    med = {name: _med(xs) for name, xs in times.items()}
    lines = [
        f"### {ds.title} ({ds.total / GIB:.2f} GiB, {len(ds.files):,} files)",
        "",
        "| tool | median wall time | min - max | throughput | peak RSS | peak anonymous |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for t in tools:
        xs = times[t.name]
        rss, anon = memory[t.name]
        lines.append(
            f"| {t.name} | {_fmt_s(med[t.name])} | {_fmt_s(min(xs))} - {_fmt_s(max(xs))} "
            f"| {ds.total / GIB / med[t.name]:.2f} GiB/s | {_mib(rss)} | {_mib(anon)} |"
        )
    return lines, med


def ratio_rows(ds: DataSet, med: dict[str, float], targets: dict[str, float]) -> list[str]:
    rows = []
    for who in ("modelseal hash --no-cache", LIBRARY):
        for comparator, target in targets.items():
            ratio = med[comparator] / med[who]
            rows.append(
                f"| {ds.key} | {who} vs {comparator} | {ratio:.2f}x | >= {target}x | {_verdict(ratio >= target)} |"
            )
    return rows


def bench_startup(runs: int, env: dict[str, str], home: Path) -> list[str]:
    tiny = home / "tiny.bin"
    tiny.write_bytes(os.urandom(1024))
    tools = [
        Tool("python -c pass (bare interpreter)", [PYTHON, "-c", "pass"], home),
        Tool("b3sum tiny.bin", ["b3sum", str(tiny)], home),
        Tool("modelseal --help", [MODELSEAL, "--help"], home),
        Tool("modelseal hash tiny.bin", [MODELSEAL, "hash", str(tiny)], home),
        Tool("modelseal hash tiny.bin --no-cache", [MODELSEAL, "hash", str(tiny), "--no-cache"], home),
    ]
    times = alternate(tools, runs, env)
    lines = ["| command | median | min - max | target < 0.3 s |", "| --- | --- | --- | --- |"]
    for t in tools:
        xs = times[t.name]
        goal = _verdict(_med(xs) < 0.3) if t.name.startswith("modelseal") else "-"
        lines.append(f"| `{t.name}` | {_fmt_s(_med(xs))} | {_fmt_s(min(xs))} - {_fmt_s(max(xs))} | {goal} |")
    return lines


def _flip_first_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))


def bench_rehash(ds: DataSet, runs: int, env: dict[str, str], home: Path) -> list[str]:
    """Whole processes: full ``--no-cache`` hash vs ``hash`` after one small file changed; then
    the same inside one process (no interpreter start-up); then the cost of filling the cache."""
    cache_env = _env(home / f"cache-{ds.key}")
    edited = ds.root / ds.edited
    run_timed([MODELSEAL, "hash", str(ds.root)], cwd=home, env=cache_env)  # fill the cache
    full, cached = [], []
    for round_ in range(runs + 1):
        _flip_first_byte(edited)
        t_cached, _ = run_timed([MODELSEAL, "hash", str(ds.root)], cwd=home, env=cache_env)
        t_full, _ = run_timed([MODELSEAL, "hash", str(ds.root), "--no-cache"], cwd=home, env=cache_env)
        if round_:
            full.append(t_full)
            cached.append(t_cached)
    inproc = json.loads(
        subprocess.run(
            [
                PYTHON,
                "-c",
                INPROCESS_REHASH,
                str(ds.root),
                str(edited),
                str(home / f"inproc-{ds.key}.sqlite"),
                str(runs),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    cold, nocache = [], []
    for round_ in range(runs + 1):
        fresh = home / f"cold-{ds.key}-{round_}"
        t_cold, _ = run_timed([MODELSEAL, "hash", str(ds.root)], cwd=home, env=_env(fresh))
        t_nocache, _ = run_timed([MODELSEAL, "hash", str(ds.root), "--no-cache"], cwd=home, env=_env(fresh))
        if round_:
            cold.append(t_cold)
            nocache.append(t_nocache)
    whole = _med(cached) / _med(full)
    inside = _med(inproc["cached"]) / _med(inproc["full"])
    return [
        f"| {ds.key} | whole process (`modelseal hash`) | {_fmt_s(_med(full))} | {_fmt_s(_med(cached))} "
        f"| {100 * whole:.1f}% | {_verdict(whole <= 0.05)} |",
        f"| {ds.key} | in one process (`hash_model`) | {_fmt_s(_med(inproc['full']))} "
        f"| {_fmt_s(_med(inproc['cached']))} | {100 * inside:.1f}% | {_verdict(inside <= 0.05)} |",
        f"| {ds.key} | first hash, empty cache (records every file) vs `--no-cache` | {_fmt_s(_med(nocache))} "
        f"| {_fmt_s(_med(cold))} | {100 * _med(cold) / _med(nocache):.0f}% | - |",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="timed rounds per figure (>= 5; default 9)")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    if shutil.which("b3sum") is None:
        parser.error("b3sum is missing (Debian package b3sum; `make setup` installs it)")
    started = time.time()
    compile_bytecode()
    datasets = [large_set(), small_set()]
    out = [
        f"Whole-process wall times (spawn to exit), page-cached data, medians of {args.runs} rounds taken in "
        "alternation after one warm-up round; memory from one extra run per tool. Ratios are comparator time / "
        "modelseal time (>= 1: modelseal faster). b3sum is handed the sorted file list (it does not walk "
        "folders); OMS runs through its Python API (`model_signing.hashing.Config().use_file_serialization"
        "(hashing_algorithm=...)`), import included. `modelseal hash` runs without loading typer or rich "
        "(`registry.cli.entry`); the library row is `registry.hashing.model.hash_model` called from `python -c`, for "
        "comparison. Python may read and write its byte-code cache, as on a user's machine.",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="modelseal-bench-") as tmp:
        home = Path(tmp)
        env = _env(home / "home")
        ratios: list[str] = []
        targets = {
            "a": {"b3sum": 0.95, "OMS sha256 (default)": 2.8, "OMS blake3": 1.0},
            "b": {"b3sum": 0.9, "OMS blake3": 2.0},
        }
        for ds in datasets:
            print(f"timing data set {ds.key} ...", file=sys.stderr)
            lines, med = bench_dataset(ds, args.runs, env)
            out += [*lines, ""]
            ratios += ratio_rows(ds, med, targets[ds.key])
        out += [
            "### Ratios against the targets",
            "",
            "| set | figure | measured | target | |",
            "| --- | --- | --- | --- | --- |",
            *ratios,
            "",
        ]
        print("timing start-up ...", file=sys.stderr)
        out += ["### Start-up", "", *bench_startup(max(args.runs, 10), env, home), ""]
        print("timing re-hash ...", file=sys.stderr)
        out += [
            "### Re-hash after editing one small file (hash cache)",
            "",
            "One byte of one small file flipped before every round (same size), so exactly one file is "
            "read again; the cache lives in a temporary data folder.",
            "",
            "| set | measured as | full hash | after the edit | ratio | target <= 5% |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for ds in datasets:
            out += bench_rehash(ds, args.runs, env, home)
    out += ["", f"Benchmark time: {time.time() - started:.0f} s."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
