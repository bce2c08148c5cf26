"""The publisher's life cycle step that joins everything: hash -> manifest -> sign -> anchor.

:func:`publish_model` hashes a model, writes and signs its manifest, checks that the signing key
is an active signer of the namespace on chain (so no gas is spent on a release the contract
would refuse for that reason), keeps the signed manifest in the data folder
(:mod:`registry.signing.store`, where ``modelseal verify`` finds it) and only then anchors the
digests. The chain itself stays the judge: every other refusal comes back as a decoded revert.

It is resumable: the manifest is written before the transaction, so a publish cut short (the
chain stopped answering, the process was killed) is finished by running it again: the same
signed manifest is anchored, or, if the first transaction was mined after all, the release is
reported as already published with that manifest. Nothing is anchored without its manifest kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import NotASigner, RegistryRefused
from registry.hashing.model import DEFAULT_IGNORE, Digest, ProgressFn, hash_model
from registry.names import ReleaseName, release_id
from registry.signing.keys import SigningKey
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest, verify_manifest
from registry.signing.store import clear_pending, find_manifest, find_pending, save_manifest, save_pending

if TYPE_CHECKING:
    from collections.abc import Sequence

    from registry.chain.client import RegistryClient, TxResult


@dataclass(frozen=True, slots=True)
class Published:
    release: ReleaseName
    release_id: bytes
    manifest: Manifest
    manifest_path: Path
    tx: TxResult | None
    """None when the release was found already anchored with this manifest (an earlier run's)"""


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
    rid = release_id(release)
    earlier = find_pending(home, rid)
    if earlier is not None and not _same_release(earlier, manifest, key.did):
        earlier = None  # another model or other options: that attempt is superseded
    anchored = client.release(release)
    if anchored is not None:
        kept = find_manifest(home, anchored.manifest_digest)
        if kept is None and earlier is not None and earlier.digest.value == anchored.manifest_digest:
            kept = earlier
        if kept is None or kept.weights.digest != md.weights.hex:
            raise RegistryRefused(
                f"{release} is already published (manifest {anchored.manifest_digest.hex()})",
                hint="publish a new version; a version is anchored once, for good",
            )
        return _kept(home, kept, None)
    signed = earlier if earlier is not None else sign_manifest(manifest, key)
    verify_manifest(signed)
    return _anchor(client, home, signed)


def publish_manifest(
    client: RegistryClient,
    manifest: Manifest,
    *,
    home: Path,
    model_path: Path | None = None,
    follow_symlinks: bool = False,
    on_progress: ProgressFn | None = None,
) -> Published:
    """Anchor a manifest signed earlier (offline, by its publisher and any co-signers: auditors,
    a regulator filing, lineage, a model card - everything ``manifest create`` can say). No
    signing key is needed here, only the namespace controller's account.

    Before anything is sent: every proof verifies and the publisher signed (fail closed), the
    publisher's key is an active signer of the namespace, and, with ``model_path``, the model's
    bytes are exactly the manifest's. Resumable like :func:`publish_model`: the manifest is kept
    before the transaction, and an already anchored release with this manifest is reported as
    such."""
    from registry.errors import DigestMismatch
    from registry.signing.manifest import compare_model

    verify_manifest(manifest)
    release = manifest.release_name
    if model_path is not None:
        md = hash_model(
            model_path, ignore=manifest.weights.ignore, follow_symlinks=follow_symlinks, on_progress=on_progress
        )
        problems = compare_model(manifest, md)
        if problems:
            raise DigestMismatch(
                f"{model_path} is not the model this manifest describes: {'; '.join(problems[:5])}",
                hint="publish the manifest of these files, or the files of this manifest",
            )
    anchored = client.release(release)
    if anchored is not None:
        if anchored.manifest_digest != manifest.digest.value:
            raise RegistryRefused(
                f"{release} is already published with another manifest (0x{anchored.manifest_digest.hex()})",
                hint="publish a new version; a version is anchored once, for good",
            )
        return _kept(home, manifest, None)
    return _anchor(client, home, manifest)


def _anchor(client: RegistryClient, home: Path, manifest: Manifest) -> Published:
    """Anchor a checked, signed manifest by its publisher's key: the manifest is kept as pending
    before the transaction (an anchored release always has its manifest), then as anchored."""
    release = manifest.release_name
    check_signer(client, release.namespace, manifest.publisher)
    save_pending(home, release_id(release), manifest)
    tx = client.publish(release, manifest.digest.value, manifest.weights_digest.value, manifest.publisher)
    return _kept(home, manifest, tx)


def _kept(home: Path, manifest: Manifest, tx: TxResult | None) -> Published:
    rid = release_id(manifest.release_name)
    path = save_manifest(home, manifest)
    clear_pending(home, rid)
    return Published(manifest.release_name, rid, manifest, path, tx)


def check_signer(client: RegistryClient, namespace: str, did: str) -> None:
    """Refuse, before any gas is spent, a publish the contract would refuse for its signing key -
    saying which of the three reasons it is."""
    if client.is_signer_at(namespace, did, client.now()):
        return
    if client.namespace(namespace) is None:
        raise NotASigner(
            f"namespace {namespace!r} is not claimed",
            hint=f"claim it first: modelseal namespace claim {namespace} (then add the key: modelseal signer add)",
        )
    if client.signer(namespace, did).valid_until:
        raise NotASigner(
            f"{did} was removed as a signer of {namespace!r}; a removed key never signs again",
            hint="sign with a current key of the namespace (modelseal signer add NAMESPACE --key NEW)",
        )
    raise NotASigner(f"{did} is not an active signer of namespace {namespace!r}")


def _same_release(earlier: Manifest, fresh: Manifest, signer: str) -> bool:
    """Whether an earlier attempt's signed manifest says what this one would (all but ``created``)
    and is signed by the same key."""
    strip = {"created"}
    same_content = {k: v for k, v in earlier.unsigned_document().items() if k not in strip} == {
        k: v for k, v in fresh.unsigned_document().items() if k not in strip
    }
    signers = {str(p.get("verificationMethod", "")).partition("#")[0] for p in earlier.proof or ()}
    return same_content and signer in signers
