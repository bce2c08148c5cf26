"""The manifest verdict: is this signed manifest the anchored one for its release?

:func:`verify_manifest_doc` (``POST /v1/manifests/verify``) returns a
:class:`registry.verdict.Verdict` made of named checks with evidence, read from the index only
(never the chain per request); the chain view in the verdict says which block the index had
reached. The endpoint verdict is :mod:`verifier.check`.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ModelsealError
from registry.names import ReleaseName, did_id
from registry.signing.manifest import Manifest
from registry.signing.proofs import normalize_did, verify_manifest
from registry.verdict import ChainView, Check, Verdict
from verifier.check import ReleaseFact, revocation_check
from verifier.index import queries
from verifier.index.schema import ReleaseRow


def _hex32(b: bytes) -> str:
    return "0x" + b.hex()


def verify_manifest_doc(s: Session, manifest: Manifest, view: ChainView) -> Verdict:
    """Is this manifest the anchored one for its release, signed by a key valid at anchoring
    time, unrevoked, with lineage that resolves?"""
    checks: list[Check] = [Check("format", "pass", "a well-formed modelseal/manifest/v1 document")]
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
    publisher = normalize_did(manifest.publisher)
    recorded = r.signer_did_hash
    if _hex32(did_id(publisher)) != recorded and _hex32(did_id(manifest.publisher)) != recorded:
        checks.append(Check("signer-at-anchoring", "fail", "the chain recorded another signing key for this release"))
    elif not queries.signer_valid_at(s, r.namespace_id, recorded, r.published_at):
        checks.append(Check("signer-at-anchoring", "fail", "the key was not a signer of the namespace when anchored"))
    else:
        checks.append(
            Check(
                "signer-at-anchoring",
                "pass",
                f"{publisher} was a signer of {name.namespace!r} at {queries.iso(r.published_at)}",
            )
        )
    checks.append(revocation_check(ReleaseFact(r.id, r.weights_digest, r.revoked_at or 0, r.revoke_reason)))
    checks.extend(_lineage(s, manifest))
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
