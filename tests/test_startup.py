"""Import hygiene: `modelseal --help` and `modelseal hash` load nothing heavy.

No timings here (speed goals are measured in bench/, see docs/benchmarks.md): these tests only
check which modules a command imports, which is what keeps start-up fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {
    "web3",
    "eth_account",
    "eth_tester",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "pydantic_settings",
    "cryptography",
    "model_signing",
}

_RUN_AND_LIST = r"""
import json, sys
sys.argv = ["modelseal", *sys.argv[1:]]
from registry.cli import app as cli
try:
    cli.main()
except SystemExit:
    pass
sys.stderr.write("\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\n")
"""


def _imported(tmp_path: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"MODELSEAL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    line = proc.stderr.rsplit("MODULES ", 1)[-1]
    modules: set[str] = set(json.loads(line))
    return modules


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("hash", "--help"),
        ("hash", "model.bin"),
        ("hash", "model.bin", "--no-cache", "--json"),
    ],
)
def test_commands_that_need_no_chain_import_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x00" * 1000)
    assert _imported(tmp_path, *args) & HEAVY == set()


def test_hash_cache_is_loaded_only_when_used(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x00" * 1000)
    assert "sqlite3" in _imported(tmp_path, "hash", "model.bin")
    assert "sqlite3" not in _imported(tmp_path, "hash", "model.bin", "--no-cache")
