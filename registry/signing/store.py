"""The local store of signed manifests: ``<data folder>/manifests/<manifest digest>.json``.

``modelseal publish`` keeps every manifest it anchors here, and ``modelseal verify`` looks a
release's manifest up here by the digest the chain records. A stored file is re-parsed and its
digest re-checked on every read, so an edited file is refused, never trusted.
"""

from __future__ import annotations

import os
from pathlib import Path

from registry.errors import InputError
from registry.signing.manifest import Manifest


def manifest_store(home: Path) -> Path:
    return Path(home) / "manifests"


def save_manifest(home: Path, manifest: Manifest) -> Path:
    """Keep a signed manifest under its digest; returns the path."""
    folder = manifest_store(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{manifest.digest.hex}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(manifest.to_json())
    os.replace(tmp, path)
    return path


def find_manifest(home: Path, manifest_digest: bytes) -> Manifest | None:
    """A stored manifest with that digest, re-checked on read; None if absent."""
    path = manifest_store(home) / f"{manifest_digest.hex()}.json"
    if not path.is_file():
        return None
    manifest = Manifest.from_json(path.read_text())
    if manifest.digest.value != manifest_digest:
        raise InputError(f"stored manifest {path} does not have the digest its name says", hint="delete it")
    return manifest
