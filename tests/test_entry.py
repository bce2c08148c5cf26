"""registry.cli.entry: `modelseal hash` without typer gives what the typer command gives, and loads
nothing heavy; everything else still reaches the typer application."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.cli.entry import parse_hash
from registry.hashing import engine as hashengine
from registry.hashing.model import hash_model

TYPER_MAIN = "import sys; sys.argv[0] = 'modelseal'; from registry.cli.app import main; main()"
FAST_MAIN = "import sys; sys.argv[0] = 'modelseal'; from registry.cli.entry import main; main()"


def _run(code: str, args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELSEAL_HOME": str(home), "COLUMNS": "200"}
    env.pop("MODELSEAL_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["m"], {"path": "m"}),
        (["m", "--json", "--no-cache"], {"path": "m", "as_json": True, "no_cache": True}),
        (["--follow-symlinks", "m"], {"path": "m", "follow_symlinks": True}),
        (["m", "--no-default-ignore"], {"path": "m", "no_default_ignore": True}),
        (["m", "--ignore", "*.md", "--ignore=.git/"], {"path": "m", "ignore": ["*.md", ".git/"]}),
        (["m", "--compare-oms", "model.sig"], {"path": "m", "compare_oms": "model.sig"}),
        (["--compare-oms=model.sig", "--", "-odd-name"], {"path": "-odd-name", "compare_oms": "model.sig"}),
    ],
)
def test_plain_command_lines_are_parsed_here(args: list[str], expected: dict[str, object]) -> None:
    assert parse_hash(args) == expected


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["-h", "m"], ["m", "n"], ["m", "--ignore"], ["m", "--jsn"], ["m", "-x"], ["--json"]],
)
def test_everything_else_goes_to_typer(args: list[str]) -> None:
    assert parse_hash(args) is None


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--json"],
        ["--no-cache", "--ignore", "*.json"],
        ["--json", "--ignore=weights/"],
        ["--json", "--no-default-ignore", "--ignore=weights/"],
    ],
)
def test_fast_entry_prints_what_the_typer_command_prints(model_dir: Path, tmp_path: Path, extra: list[str]) -> None:
    args = ["hash", "model", *extra]
    fast = _run(FAST_MAIN, args, tmp_path, tmp_path / "home-fast")
    slow = _run(TYPER_MAIN, args, tmp_path, tmp_path / "home-typer")
    assert fast.returncode == slow.returncode == 0, (fast.stderr, slow.stderr)
    assert fast.stdout == slow.stdout
    assert fast.stderr == slow.stderr == ""
    weights = json.loads(fast.stdout)["weights"] if "--json" in extra else fast.stdout.split()[-6]
    ignore = [extra[i + 1] for i, w in enumerate(extra) if w == "--ignore"]
    ignore += [w.split("=", 1)[1] for w in extra if w.startswith("--ignore=")]
    rules = hashengine.ignore_rules(ignore, defaults="--no-default-ignore" not in extra)  # --ignore adds
    assert set(hashengine.DEFAULT_IGNORE).issubset(rules) == ("--no-default-ignore" not in extra)
    expected = hash_model(model_dir, ignore=rules)
    assert weights == expected.weights.hex


@pytest.mark.parametrize(
    "args",
    [
        ["hash", "missing-folder"],
        ["hash", "model", "--compare-oms", "no-such.sig"],
        ["hash", "model", "--ignore", "*"],
    ],
)
def test_fast_entry_reports_errors_like_typer(model_dir: Path, tmp_path: Path, args: list[str]) -> None:
    fast = _run(FAST_MAIN, args, tmp_path, tmp_path / "home")
    slow = _run(TYPER_MAIN, args, tmp_path, tmp_path / "home")
    assert fast.returncode == slow.returncode == 2
    assert fast.stdout == slow.stdout == ""
    assert fast.stderr == slow.stderr
    assert fast.stderr.startswith("error: ") and "\nhint: " in fast.stderr


def test_hash_loads_no_heavy_module(model_dir: Path, tmp_path: Path) -> None:
    probe = (
        "import sys, atexit\n"
        "atexit.register(lambda: sys.stderr.write(' '.join(sorted(m for m in sys.modules"
        " if m.split('.')[0] in {'typer', 'click', 'rich', 'pydantic', 'web3', 'fastapi', 'dataclasses',"
        " 'pathlib', 'typing', 'json'}))))\n" + FAST_MAIN
    )
    done = _run(probe, ["hash", "model"], tmp_path, tmp_path / "home")
    assert done.returncode == 0
    assert done.stderr == ""  # not one of them was imported
    with_help = _run(probe, ["hash", "--help"], tmp_path, tmp_path / "home")
    assert with_help.returncode == 0 and "typer" in with_help.stderr.split()  # --help is typer's


def test_other_commands_still_reach_typer(tmp_path: Path) -> None:
    done = _run(FAST_MAIN, ["keys", "--help"], tmp_path, tmp_path / "home")
    assert done.returncode == 0 and "List the keys" in done.stdout
    bad = _run(FAST_MAIN, ["no-such-command"], tmp_path, tmp_path / "home")
    assert bad.returncode == 2 and "No such command" in bad.stderr


def test_progress_bar_leaves_the_process_single_threaded(tmp_path: Path) -> None:
    """The bar is redrawn from the hashing callback, not by rich's refresh thread, so the engine can
    still fork its small-file workers while it is shown (checked in a fresh process: this one may
    run threads of other tests)."""
    code = (
        "import sys\n"
        "sys.stderr.isatty = lambda: True\n"
        "from registry.cli import console\nfrom registry.hashing import engine as hashengine\n"
        "with console.byte_progress(100, label='hashing', enabled=True) as tick:\n"
        "    assert tick is not None\n"
        "    tick(50)\n"
        "    can_fork = hashengine._can_fork()\n"
        "print(can_fork)\n"
    )
    done = _run(code, [], tmp_path, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
