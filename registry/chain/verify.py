"""The client's question about a model on disk: which registered release is this, if any?

:func:`verify_model` hashes the model, looks its weights digest up on chain (or reads the
release it is said to be), and checks, each as a named :class:`~registry.verdict.Check`:

* ``registered`` - a release anchors these weights (else ``unverified``);
* ``weights`` - with ``release``, the release's weights digest equals the local one;
* ``not-revoked`` - the publisher has not revoked it (else ``revoked``);
* ``manifest`` - the manifest (given, or kept in the data folder) has the anchored digest and
  describes exactly these files;
* ``signatures`` - its proofs verify, and the publisher's key was an active signer of the
  namespace at the anchoring time and is the signer the chain recorded.

The verdict follows :meth:`~registry.verdict.Verdict.decide`; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import ChainError, ModelsealError
from registry.hashing.model import DEFAULT_IGNORE, ModelDigest, ProgressFn, hash_model
from registry.names import ReleaseName, did_id
from registry.signing.manifest import Manifest, compare_model
from registry.signing.proofs import verify_manifest
from registry.signing.store import fetch_manifest, find_manifest
from registry.times import iso
from registry.verdict import ChainView, Check, Verdict, names_check

if TYPE_CHECKING:
    from registry.chain.client import RegistryClient, ReleaseInfo


def release_json(info: ReleaseInfo) -> dict[str, object]:
    return {
        "release": str(info.name),
        "releaseId": "0x" + info.id.hex(),
        "manifestDigest": info.manifest_digest.hex(),
        "weightsDigest": info.weights_digest.hex(),
        "publisher": info.publisher,
        "publishedAt": iso(info.published_at),
        "block": info.block,
        "tx": info.tx_hash,
        "revokedAt": iso(info.revoked_at) if info.revoked_at else None,
        "revokeReason": info.revoke_reason,
    }


def _signature_checks(client: RegistryClient, info: ReleaseInfo, manifest: Manifest) -> list[Check]:
    checks: list[Check] = []
    try:
        results = verify_manifest(manifest)
    except ModelsealError as exc:
        return [Check("signatures", "fail", exc.message)]
    ns = info.name.namespace
    if did_id(manifest.publisher) != info.signer_did_hash:
        checks.append(
            Check(
                "signatures",
                "fail",
                "the chain recorded another signing key for this release than the manifest's publisher",
            )
        )
        return checks
    valid_then = client.is_signer_at(ns, manifest.publisher, info.published_at)
    evidence = {"signers": [r.signer for r in results], "anchoredAt": iso(info.published_at)}
    if not valid_then:
        checks.append(
            Check(
                "signatures",
                "fail",
                f"{manifest.publisher} was not a signer of {ns!r} when the release was anchored",
                evidence,
            )
        )
    else:
        checks.append(
            Check(
                "signatures",
                "pass",
                f"{len(results)} proof(s) verify; the publisher key was a signer of {ns!r} at anchoring time",
                evidence,
            )
        )
    return checks


def verify_model(
    client: RegistryClient,
    model_path: Path,
    *,
    release: ReleaseName | None = None,
    manifest: Manifest | None = None,
    home: Path | None = None,
    on_progress: ProgressFn | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    follow_symlinks: bool = False,
    verifier_url: str | None = None,
) -> tuple[Verdict, list[ReleaseName], ReleaseInfo | None]:
    """Verify a local model against the chain. Returns the verdict, every release anchoring the
    weights (only the one asked for, with ``release``) and the release the verdict is about."""
    rules = tuple(manifest.weights.ignore) if manifest is not None else tuple(ignore)  # a manifest's, exactly
    md = hash_model(model_path, ignore=rules, follow_symlinks=follow_symlinks, on_progress=on_progress)
    view = ChainView(client.chain_id, client.address, client.block_number())
    subject = {"path": str(model_path), "weightsDigest": md.weights.hex}
    checks: list[Check] = []

    def done(
        about: str | None, names: list[ReleaseName], info: ReleaseInfo | None = None
    ) -> tuple[Verdict, list[ReleaseName], ReleaseInfo | None]:
        if info is not None:
            warned = names_check(_earlier_lookalikes(client, info.name.namespace))
            if warned is not None:
                checks.append(warned)
        return Verdict(Verdict.decide(checks), tuple(checks), about, view, subject), names, info

    if release is not None:
        found = client.release(release)
        if found is None:
            checks.append(Check("registered", "fail", f"{release} is not published", decisive="unverified"))
            return done(str(release), [])
        info = found
        names = [release]
        checks.append(Check("registered", "pass", f"{release} is published", release_json(info)))
        if info.weights_digest != md.weights.value:
            doc = manifest or _manifest_at_hand(home, verifier_url, info.manifest_digest)
            diff = _differences(doc, model_path, md, follow_symlinks) if doc is not None else []
            checks.append(
                Check(
                    "weights",
                    "fail",
                    f"these are not the weights of {release}" + (f": {_summary(diff)}" if diff else ""),
                    {"local": md.weights.hex, "registered": info.weights_digest.hex(), "differences": diff},
                )
            )
            return done(str(release), names, info)
        checks.append(Check("weights", "pass", "weights digest equals the registered one"))
    else:
        names = client.releases_by_weights(md.weights.value)
        if not names:
            diff = _differences(manifest, model_path, md, follow_symlinks) if manifest is not None else []
            said = f"; against the manifest of {manifest.release_name}: {_summary(diff)}" if manifest and diff else ""
            checks.append(
                Check(
                    "registered", "fail", "no release anchors these weights" + said,
                    {"weightsDigest": md.weights.hex, "differences": diff}, "unverified",
                )
            )  # fmt: skip
            return done(None, [])
        listed = {"releases": [str(n) for n in names[:MAX_LISTED]], "count": len(names)}
        if manifest is not None:
            if manifest.release_name not in names:
                checks.append(
                    Check(
                        "registered",
                        "fail",
                        f"the manifest names {manifest.release_name}, but these weights are anchored only as "
                        f"{_some(names)}",
                        listed,
                    )
                )
                return done(str(manifest.release_name), names)
            chosen = manifest.release_name
        elif len(names) > 1:  # anyone may anchor any digest: never pick one of several silently
            checks.append(
                Check(
                    "registered",
                    "skip",
                    f"these weights are anchored by {len(names)} releases ({_some(names)}); anchoring first "
                    "proves nothing about who published them: pass --release or --manifest to say which one you mean",
                    listed,
                    "unverified",
                )
            )
            return done(None, names)
        else:
            chosen = names[0]
        found = client.release(chosen)
        if found is None:  # the events name it, the storage does not: the RPC is inconsistent
            raise ChainError(f"{chosen} is anchored in the event log but not in storage")
        info = found
        detail = f"anchored as {info.name}" + (
            f" (of {len(names)} releases anchoring these weights)" if len(names) > 1 else ""
        )
        checks.append(Check("registered", "pass", detail, release_json(info)))

    if info.revoked:
        checks.append(
            Check(
                "not-revoked",
                "fail",
                f"revoked at {iso(info.revoked_at)}: {info.revoke_reason or 'no reason given'}",
                decisive="revoked",
            )
        )
    else:
        checks.append(Check("not-revoked", "pass", "not revoked"))

    doc = manifest or _manifest_at_hand(home, verifier_url, info.manifest_digest)
    if doc is None:
        checks.append(
            Check(
                "manifest",
                "skip",
                "no manifest at hand (pass --manifest FILE, or set MODELSEAL_VERIFIER_URL to fetch it from a verifier)",
            )
        )
        checks.append(Check("signatures", "skip", "no manifest to check"))
    elif doc.release_name != info.name:  # a manifest copied under another name: not this release's
        checks.append(
            Check(
                "manifest",
                "fail",
                f"the manifest names {doc.release_name}, but it is anchored as {info.name}",
                {"manifestRelease": str(doc.release_name), "anchoredAs": str(info.name)},
            )
        )
    elif doc.digest.value != info.manifest_digest:
        checks.append(
            Check(
                "manifest",
                "fail",
                "the manifest is not the one anchored for this release",
                {"manifestDigest": doc.digest.hex, "anchored": info.manifest_digest.hex()},
            )
        )
    else:
        problems = compare_model(doc, md)
        if problems:
            checks.append(Check("manifest", "fail", "the model differs from its manifest", {"differences": problems}))
        else:
            checks.append(Check("manifest", "pass", "the anchored manifest describes exactly these files"))
        checks.extend(_signature_checks(client, info, doc))
    return done(str(info.name), names, info)


def _earlier_lookalikes(client: RegistryClient, namespace: str) -> list[dict[str, Any]]:
    """Namespaces claimed before ``namespace`` that it could be mistaken for (from the registry's
    events, in claim order)."""
    from registry.confusables import ConfusableIndex

    found = ConfusableIndex(client.namespace_names()).standing(namespace).earlier
    return [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]


def _manifest_at_hand(home: Path | None, verifier_url: str | None, digest: bytes) -> Manifest | None:
    """The anchored manifest from the data folder (kept by `publish`), else from the verifier at
    ``verifier_url`` (checked like any other manifest afterwards)."""
    kept = find_manifest(home, digest) if home else None
    if kept is None and verifier_url:
        kept = fetch_manifest(verifier_url, digest)
    return kept


def _differences(doc: Manifest, model_path: Path, md: ModelDigest, follow_symlinks: bool) -> list[str]:
    """Every changed, missing and extra file of the model against a manifest (hashed again with the
    manifest's own ignore rules when they are not the ones used)."""
    if tuple(doc.weights.ignore) != tuple(md.ignore):
        md = hash_model(model_path, ignore=doc.weights.ignore, follow_symlinks=follow_symlinks)
    return compare_model(doc, md)


_LOADED = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".ckpt", ".h5", ".msgpack", ".json", ".model")
"""File endings a model loader reads (weights, configs, tokenizers): an extra one can change what runs."""


def _summary(differences: list[str]) -> str:
    shown = "; ".join(differences[:5])
    said = shown + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
    extra = [d.removeprefix("not in manifest: ") for d in differences if d.startswith("not in manifest: ")]
    if extra and len(extra) == len(differences):  # every file of the release is there, unchanged
        loaded = [p for p in extra if p.lower().endswith(_LOADED)]
        said += (
            " - only extra files: every file of the release is present and unchanged"
            + (f", but {', '.join(loaded[:5])} may be read by a model loader and change what runs" if loaded
               else "; none looks like weights or a configuration (check with --ignore to verify the rest)")
        )  # fmt: skip
    return said


MAX_LISTED = 20
"""Releases named in a verdict's text and evidence when many anchor the same weights."""


def _some(names: list[ReleaseName]) -> str:
    shown = ", ".join(str(n) for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
