"""The publisher's life cycle step that joins everything: hash -> manifest -> sign -> anchor.

:func:`publish_model` hashes a model, writes and signs its manifest, checks that the signing key
is an active signer of the namespace on chain (so no gas is spent on a release the contract
would refuse for that reason), anchors the digests and keeps the signed manifest in the data
folder (:mod:`registry.signing.store`), where ``modelseal verify`` finds it.
The chain itself stays the judge: every other refusal comes back as a decoded revert.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import NotASigner
from registry.hashing.model import DEFAULT_IGNORE, Digest, ProgressFn, hash_model
from registry.names import ReleaseName, release_id
from registry.signing.keys import SigningKey
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest, verify_manifest
from registry.signing.store import save_manifest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from registry.chain.client import RegistryClient, TxResult


@dataclass(frozen=True, slots=True)
class Published:
    release: ReleaseName
    release_id: bytes
    manifest: Manifest
    manifest_path: Path
    tx: TxResult


def publish_model(
    client: RegistryClient,
    key: SigningKey,
    model_path: Path,
    release: ReleaseName,
    *,
    home: Path,
    license: str | None = None,
    model_card: Digest | None = None,
    lineage: list[tuple[str, str]] | None = None,
    filing: dict[str, str] | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    follow_symlinks: bool = False,
    on_progress: ProgressFn | None = None,
) -> Published:
    md = hash_model(model_path, ignore=ignore, follow_symlinks=follow_symlinks, on_progress=on_progress)
    manifest = Manifest.create(
        release, key.did, md, license=license, model_card=model_card, lineage=lineage, filing=filing
    )
    signed = sign_manifest(manifest, key)
    verify_manifest(signed)
    if not client.is_signer_at(release.namespace, key.did, client.now()):
        raise NotASigner(f"{key.did} is not an active signer of namespace {release.namespace!r}")
    tx = client.publish(release, signed.digest.value, md.weights.value, key.did)
    path = save_manifest(home, signed)
    return Published(release, release_id(release), signed, path, tx)
