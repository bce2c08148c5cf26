"""Compiled contracts and where they are deployed.

Owns two records on disk and nothing else:

* **artifacts** - ABI and bytecode that Hardhat writes to ``artifacts/contracts/<File>.sol/<Name>.json``
  (``npx hardhat build``; Python cannot compile Solidity). The folder is found next to the
  package, or from ``MODELSEAL_ARTIFACTS``.
* **deployments** - ``<data folder>/deployments/<chain id>/ModelRegistry.json`` with the address,
  deploy block and transaction, and the ABI used, so a client finds the registry of a chain
  without being told.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.errors import ArtifactMissing, InputError

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str = ""
    """the runtime code a deployment of this build has (no immutables: equal byte for byte)"""


def artifacts_dir() -> Path:
    env = os.environ.get("MODELSEAL_ARTIFACTS")
    return Path(env) if env else REPO_ROOT / "artifacts"


def load_artifact(name: str = "ModelRegistry", source: str | None = None, root: Path | None = None) -> Artifact:
    """Load ``<root>/<source or contracts/NAME.sol>/<NAME>.json``."""
    base = root or artifacts_dir()
    path = base / (source or f"contracts/{name}.sol") / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactMissing(f"no compiled {name} at {path}") from None
    except ValueError:
        raise ArtifactMissing(f"damaged artifact {path}") from None
    return Artifact(name, data["abi"], data["bytecode"], data.get("deployedBytecode", ""))


@dataclass(frozen=True, slots=True)
class Deployment:
    chain_id: int
    address: str
    block: int
    tx: str
    version: str

    def as_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "address": self.address,
            "block": self.block,
            "tx": self.tx,
            "version": self.version,
        }


def deployment_path(home: Path, chain_id: int, name: str = "ModelRegistry") -> Path:
    return Path(home) / "deployments" / str(chain_id) / f"{name}.json"


def save_deployment(home: Path, deployment: Deployment, abi: list[dict[str, Any]], name: str = "ModelRegistry") -> Path:
    path = deployment_path(home, deployment.chain_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**deployment.as_json(), "abi": abi}, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def load_deployment(home: Path, chain_id: int, name: str = "ModelRegistry") -> Deployment | None:
    path = deployment_path(home, chain_id, name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        raise InputError(f"damaged deployments record {path}", hint="delete it and deploy again") from None
    return Deployment(int(data["chainId"]), data["address"], int(data["block"]), data["tx"], data.get("version", ""))
