"""The manifest verdict: is this signed manifest the anchored one for its release?

:func:`verify_manifest_doc` (``POST /v1/manifests/verify``) returns a
:class:`registry.verdict.Verdict` made of named checks with evidence, read from the index only
(never the chain per request); the chain view in the verdict says which block the index had
reached. The endpoint verdict is :mod:`verifier.check`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ModelsealError
from registry.names import ReleaseName, did_id
from registry.signing.manifest import MAX_PROOFS, Manifest
from registry.signing.proofs import verify_manifest, verify_one
from registry.verdict import ChainView, Check, Verdict, names_check
from verifier.check import ReleaseFact, revocation_check
from verifier.errors import Problem
from verifier.index import queries
from verifier.index.schema import ReleaseRow, SignerRow


def _hex32(b: bytes) -> str:
    return "0x" + b.hex()


def verify_manifest_doc(
    s: Session, manifest: Manifest, view: ChainView, confusions: list[dict[str, Any]] | None = None
) -> Verdict:
    """Is this manifest the anchored one for its release, signed by a key valid at anchoring
    time, unrevoked, with lineage that resolves? ``confusions``: the namespaces registered before
    its namespace that it could be mistaken for (the ``confusable-name`` warning)."""
    checks: list[Check] = [Check("format", "pass", "a well-formed modelseal/manifest/v1 document")]
    names = names_check(confusions or [])
    if names is not None:
        checks.append(names)
    name = manifest.release_name
    r = queries.find_release(s, name.namespace, name.model, name.version)
    if r is None:
        checks.append(Check("anchored", "fail", f"{name} is not published", decisive="unverified"))
        return Verdict(Verdict.decide(checks), tuple(checks), str(name), view, {"manifestDigest": manifest.digest.hex})
    if r.manifest_digest != manifest.digest.hex:
        checks.append(
            Check(
                "anchored",
                "fail",
                f"{name} anchors another manifest",
                {"manifestDigest": manifest.digest.hex, "anchored": r.manifest_digest},
            )
        )
    else:
        checks.append(Check("anchored", "pass", f"anchored as {name} in block {r.block_number}", {"tx": r.tx_hash}))
    if r.weights_digest != manifest.weights.digest:
        checks.append(Check("weights", "fail", "weights digest differs from the anchored one"))
    else:
        checks.append(Check("weights", "pass", "weights digest equals the anchored one"))
    try:
        results = verify_manifest(manifest)
        checks.append(
            Check("signatures", "pass", f"{len(results)} proof(s) verify", {"signers": [x.signer for x in results]})
        )
    except ModelsealError as exc:
        checks.append(Check("signatures", "fail", exc.message))
    recorded = r.signer_did_hash
    if _hex32(did_id(manifest.publisher)) != recorded:
        checks.append(Check("signer-at-anchoring", "fail", "the chain recorded another signing key for this release"))
    elif not queries.signer_valid_at(s, r.namespace_id, recorded, r.published_at):
        checks.append(Check("signer-at-anchoring", "fail", "the key was not a signer of the namespace when anchored"))
    else:
        checks.append(
            Check(
                "signer-at-anchoring",
                "pass",
                f"{manifest.publisher} was a signer of {name.namespace!r} at {queries.iso(r.published_at)}",
            )
        )
    checks.append(revocation_check(ReleaseFact(r.id, r.weights_digest, r.revoked_at or 0, r.revoke_reason)))
    checks.extend(_lineage(s, manifest))
    checks.extend(view.freshness())
    return Verdict(Verdict.decide(checks), tuple(checks), str(name), view, {"manifestDigest": manifest.digest.hex})


def _lineage(s: Session, manifest: Manifest) -> list[Check]:
    if not manifest.lineage:
        return []
    unresolved = []
    for item in manifest.lineage:
        found: object
        if re.fullmatch(r"[0-9a-f]{64}", item.of):
            found = s.scalar(select(ReleaseRow.id).where(ReleaseRow.weights_digest == item.of))
        else:
            ref = ReleaseName.parse(item.of)
            found = queries.find_release(s, ref.namespace, ref.model, ref.version)
        if found is None:
            unresolved.append(f"{item.relation} of {item.of}")
    if unresolved:
        return [
            Check(
                "lineage",
                "fail",
                f"lineage does not resolve to registered releases: {', '.join(unresolved)}",
                decisive="unverified",
            )
        ]
    return [Check("lineage", "pass", f"{len(manifest.lineage)} lineage reference(s) resolve")]


# --- uploads ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Upload:
    """What ``POST /v1/manifests`` did: the proof set now stored, and each proof it set aside."""

    manifest: Manifest
    created: bool
    changed: bool
    ignored: tuple[dict[str, Any], ...]


def accept_upload(s: Session, manifest: Manifest, stored: Manifest | None) -> Upload:
    """Decide what to store for an uploaded manifest, first-writer-wins no more.

    The upload is refused (:class:`~verifier.errors.Problem` 422) unless its digest is the one
    anchored for its release and it carries a proof that verifies by the key the chain recorded
    for that release, a signer of the namespace when it was anchored. Its other proofs are kept if
    they verify and are by a key the chain knows as a signer of the namespace; any other proof is
    set aside with the reason. Proofs already stored stay; the merged set has one proof per
    signer, the anchoring signer's first, at most :data:`~registry.signing.manifest.MAX_PROOFS`."""
    name = manifest.release_name
    r = queries.find_release(s, name.namespace, name.model, name.version)
    if r is None or r.manifest_digest != manifest.digest.hex:
        raise Problem(
            422,
            "manifest-not-anchored",
            "Manifest not anchored",
            f"no release anchors manifest digest {manifest.digest.hex}"
            + ("" if r is None else f" ({name} anchors {r.manifest_digest})"),
        )
    fresh, ignored = _vetted(s, r, manifest, manifest.proof or ())
    if not any(h == r.signer_did_hash for h, _ in fresh) or not queries.signer_valid_at(
        s, r.namespace_id, r.signer_did_hash, r.published_at
    ):
        raise Problem(
            422,
            "manifest-not-signed-by-anchoring-key",
            "Not signed by the key that anchored it",
            f"no proof verifies by the key the chain recorded for {name} (a signer of {name.namespace!r} when "
            "anchored)",
            ignored=ignored or None,
        )
    kept: dict[str, dict[str, Any]] = {}
    earlier, _ = _vetted(s, r, manifest, () if stored is None else stored.proof or ())  # stored by an older version?
    for signer, proof in sorted([*earlier, *fresh], key=lambda sp: sp[0] != r.signer_did_hash):  # stable
        if signer not in kept and len(kept) < MAX_PROOFS:
            kept[signer] = proof
    merged = Manifest.from_dict({**manifest.unsigned_document(), "proof": list(kept.values())})
    changed = stored is None or merged.document() != stored.document()
    return Upload(merged, stored is None, changed, tuple(ignored))


def _vetted(
    s: Session, r: ReleaseRow, manifest: Manifest, proofs: Any
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """The proofs that verify over ``manifest`` by a key the chain knows as a signer of its
    namespace, as (signer DID hash, proof); and why each other one was set aside."""
    good: list[tuple[str, dict[str, Any]]] = []
    ignored: list[dict[str, Any]] = []
    for i, proof in enumerate(proofs):
        try:
            result = verify_one(manifest, proof)
        except ModelsealError as exc:
            ignored.append({"proof": i, "reason": exc.message})
            continue
        signer = _hex32(did_id(result.signer))  # one canonical spelling per key, on chain too
        if s.get(SignerRow, (r.namespace_id, signer)) is None:
            ignored.append({"proof": i, "reason": f"{result.signer} is not a signer of {r.namespace!r} on chain"})
            continue
        good.append((signer, proof))
    return good, ignored
