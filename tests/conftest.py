"""Shared fixtures: a private keystore per test, small model folders, the real SmolLM2 file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.keys import Ed25519Key, Keystore

REPO = Path(__file__).resolve().parent.parent
VECTORS = Path(__file__).resolve().parent / "vectors"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", help="rewrite tests/golden files")


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keys")


@pytest.fixture
def publisher_key() -> Ed25519Key:
    return Ed25519Key.generate()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small model folder: weights in a subfolder, a config, a tokenizer and a .git folder."""
    root = tmp_path / "model"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "model-00001.safetensors").write_bytes(os.urandom(200_000))
    (root / "weights" / "model-00002.safetensors").write_bytes(os.urandom(9 * 1024 * 1024))
    (root / "config.json").write_text('{"hidden": 64}\n')
    (root / "tokenizer.json").write_text('{"vocab": ["a", "b"]}\n')
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.fixture(scope="session")
def smollm_model() -> Path:
    """The real SmolLM2 GGUF fetched by the Makefile (``MODELSEAL_TEST_MODEL``)."""
    path = Path(os.environ.get("MODELSEAL_TEST_MODEL", REPO / ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not path.is_file():
        pytest.fail(f"the SmolLM2 model is missing at {path}: run the tests through `make test`, which fetches it")
    return path


CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> CliRun:
    """Run the real ``modelseal`` entry point in a subprocess with a private keystore."""
    env = {**os.environ, "MODELSEAL_KEYS": str(tmp_path / "cli-keys"), "MODELSEAL_HOME": str(tmp_path / "home")}
    env.pop("MODELSEAL_DEBUG", None)

    def run(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "registry", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"modelseal {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run
