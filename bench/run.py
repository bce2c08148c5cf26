"""Run every benchmark in bench/ and write docs/benchmarks.md (``make bench``).

A benchmark is a script ``bench/<name>.py`` (not starting with ``_``, and not this runner) that
prints its results as markdown on stdout, each figure a ratio against a comparator it measured in
the same run. This runner runs them one after the other (never in parallel: they would disturb
each other's timings), and writes one page: the machine, date and versions, then one section per
benchmark. A benchmark that fails gets its error in the page, and the runner exits 1.

Run: ``.venv/bin/python bench/run.py [--only NAME ...] [--output PATH]``. With ``--only``, the
sections of the other benchmarks already in the page are kept as they were; every section says
when and at which commit it was run.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def benchmarks() -> list[Path]:
    return sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_") and p.name != Path(__file__).name)


def _title(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    return doc.strip().splitlines()[0].rstrip(".")


def _first_line(path: str, prefix: str, sep: str = ":") -> str:
    """The value of the first ``prefix<sep>value`` line of a file."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(sep, 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def _command(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> list[str]:
    mem_kib = int(_first_line("/proc/meminfo", "MemTotal").split()[0]) if Path("/proc/meminfo").exists() else 0
    os_release = _first_line("/etc/os-release", "PRETTY_NAME", "=")
    if os_release == "unknown":
        os_release = platform.platform()
    dirty = " (with uncommitted changes)" if _command("git", "status", "--porcelain") not in ("", "unavailable") else ""
    return [
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {_first_line('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores, "
        f"{mem_kib / 2**20:.0f} GiB RAM; {os_release}, Linux {platform.release()}",
        f"- load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- modelseal {_version('modelseal')} at {_command('git', 'rev-parse', '--short', 'HEAD')}{dirty}; "
        f"Python {platform.python_version()}; blake3 {_version('blake3')}; "
        f"model-signing {_version('model-signing')}; {_command('b3sum', '--version')}; "
        f"web3 {_version('web3')}",
    ]


def _stamp() -> str:
    dirty = " (with uncommitted changes)" if _command("git", "status", "--porcelain") not in ("", "unavailable") else ""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"Run {when} at {_command('git', 'rev-parse', '--short', 'HEAD')}{dirty}."


def _old_sections(page: str) -> dict[str, list[str]]:
    """The ``## `` sections of an existing page by title line, each given a "Run ..." line (taken
    from the old page's header) if it has none."""
    lines = page.splitlines()
    date = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("- date:")), "unknown date")
    commit = next((ln.split(" at ", 1)[1].split(";")[0] for ln in lines if ln.startswith("- modelseal ")), "?")
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("## "):
            current = sections.setdefault(line, [])
        elif current is not None:
            current.append(line)
    for body in sections.values():
        if not any(ln.startswith("Run ") for ln in body[:3]):
            body[:0] = ["", f"Run {date} at {commit}."]
    return sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run bench/*.py and write docs/benchmarks.md.")
    parser.add_argument("--only", nargs="*", help="benchmark names (file stems) to run; default all")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    scripts = [s for s in benchmarks() if not args.only or s.stem in args.only]
    page = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`), which runs every script in `bench/` one after the other. "
        "Every figure is a ratio against a named comparator measured side by side in the same run; "
        "the method is stated in each section. Re-run to refresh; do not edit by hand. "
        "The machine below is the one of the latest run; each section says when it was run.",
        "",
        *machine(),
        "",
    ]
    old = _old_sections(args.output.read_text()) if args.only and args.output.exists() else {}
    failed = []
    for script in benchmarks():
        title = f"## {_title(script)} (`bench/{script.name}`)"
        if script not in scripts:
            if title in old:
                page += [title, *old[title]]
            continue
        print(f"== {script.name}", file=sys.stderr, flush=True)
        started, stamp = time.time(), _stamp()
        proc = subprocess.run([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        page += [title, "", stamp, ""]
        if proc.returncode == 0:
            page += [proc.stdout.rstrip(), ""]
        else:
            failed.append(script.name)
            page += [f"**Failed** (exit status {proc.returncode}); see the output of `make bench`.", ""]
        print(f"== {script.name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    args.output.write_text("\n".join(page).rstrip() + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
