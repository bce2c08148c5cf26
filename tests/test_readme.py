"""README's quickstart, run literally: the shell blocks of "## Quickstart" up to the verifier's,
in a fresh folder with a small model, a private keystore and data folder, and a dev chain on a
free port (named by MODELSEAL_RPC_URL, which `modelseal chain up` follows). It must end with
`verified` for the manifest the publisher signed and shipped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from registry.chain.devchain import free_port

README = Path(__file__).resolve().parent.parent / "README.md"


def quickstart_blocks() -> list[str]:
    """The ```sh blocks of the Quickstart section that publish and verify (not the verifier's)."""
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [b for b in blocks if "verifier serve" not in b]


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    script = "\n".join(blocks)
    assert "modelseal publish --manifest chat-1.0.0.manifest.json" in script  # the shipped file is anchored
    assert script.count("modelseal") >= 8, script
    model = tmp_path / "my-model"
    (model / "weights").mkdir(parents=True)
    (model / "weights" / "model.safetensors").write_bytes(os.urandom(4096))
    (model / "config.json").write_text('{"layers": 2}\n')
    bindir = str(Path(sys.executable).parent)
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),  # the keystore's default folder is under it
        "MODELSEAL_HOME": str(tmp_path / ".modelseal"),
        "MODELSEAL_RPC_URL": f"http://127.0.0.1:{port}",
    }
    for name in ("MODELSEAL_KEYS", "MODELSEAL_PRIVATE_KEY", "MODELSEAL_REGISTRY", "MODELSEAL_DEBUG", "VIRTUAL_ENV"):
        env.pop(name, None)
    runnable = script.replace("source .venv/bin/activate", "true  # (the test puts the venv on PATH)")
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", runnable],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        subprocess.run(["modelseal", "chain", "down"], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("verified", "mismatch", "unverified"))]
    assert verdicts[-1].split() == ["verified", "my-model", "->", "acme/chat/1.0.0"], done.stdout  # the last word
    assert "ok   manifest: the anchored manifest describes exactly these files" in done.stdout
