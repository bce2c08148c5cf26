"""Verdicts the service gives, computed from the index: manifests and the app-store check.

Each function returns a :class:`registry.verdict.Verdict` made of named checks with evidence.
They read the index only (never the chain per request), so they are as fast as the database;
the chain view in the verdict says which block the index had reached.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import ModelsealError
from registry.manifest import Manifest
from registry.names import ReleaseName, did_id
from registry.proofs import normalize_did, verify_manifest
from registry.verdict import ChainView, Check, Verdict
from verifier import queries
from verifier.db import ReleaseRow


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
    checks.append(_revocation(r))
    checks.extend(_lineage(s, manifest))
    return Verdict(Verdict.decide(checks), tuple(checks), str(name), view, {"manifestDigest": manifest.digest.hex})


def _revocation(r: ReleaseRow) -> Check:
    if r.revoked_at:
        return Check(
            "not-revoked",
            "fail",
            f"revoked at {queries.iso(r.revoked_at)}: {r.revoke_reason or 'no reason given'}",
            decisive="revoked",
        )
    return Check("not-revoked", "pass", "not revoked")


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


def app_store_check(
    s: Session,
    url: str,
    claimed: ReleaseName | None,
    view: ChainView,
    confusions: list[dict[str, Any]],
    endpoint_checks: list[Check] | None = None,
) -> Verdict:
    """The one question an app store asks per listing. Until the deployment-identity protocol
    runs, the endpoint checks are reported as ``skip`` (never as a pass)."""
    checks: list[Check] = []
    release = None
    if claimed is not None:
        r = queries.find_release(s, claimed.namespace, claimed.model, claimed.version)
        if r is None:
            checks.append(Check("release", "fail", f"{claimed} is not registered", decisive="unverified"))
        else:
            release = r
            checks.append(Check("release", "pass", f"{claimed} is registered", queries.release_json(r)))
            checks.append(_revocation(r))
    else:
        checks.append(Check("release", "skip", "no claimed release given and the endpoint's claim was not fetched"))
    if confusions:
        checks.append(
            Check(
                "names",
                "skip",
                "warning: the claimed namespace could be mistaken for another",
                {"confusableWith": confusions},
            )
        )
    checks.extend(endpoint_checks or [Check("identity", "skip", "the endpoint was not contacted")])
    verdict = Verdict.decide(checks)
    if verdict == "verified" and not any(c.name == "identity" and c.status == "pass" for c in checks):
        verdict = "unverified"  # a registered release alone does not prove what the URL serves
    return Verdict(
        verdict,
        tuple(checks),
        str(claimed) if claimed else None,
        view,
        {"url": url, "releaseId": release.id if release else None, "checkedAt": int(time.time())},
    )


class IndexFacts:
    """Chain facts for the prober, read from the index (``verifier.prober.ChainFacts``)."""

    def __init__(self, s: Session, chain_id: int, registry: str) -> None:
        self.s, self.chain_id, self.registry = s, chain_id, registry

    def release(self, name: ReleaseName) -> Any:
        from verifier.prober import ReleaseFact

        r = queries.find_release(self.s, name.namespace, name.model, name.version)
        return None if r is None else ReleaseFact(r.weights_digest, bool(r.revoked_at), r.revoke_reason)

    def operator_authorized(self, name: ReleaseName, did: str) -> bool:
        r = queries.find_release(self.s, name.namespace, name.model, name.version)
        if r is None:
            return False
        return queries.operator_authorized(self.s, r, _hex32(did_id(did)), int(time.time())) is not None


def run_check(svc: Any, url: str, claimed: ReleaseName | None) -> tuple[Verdict, list[dict[str, Any]]]:
    """The whole `/v1/check`: probe the endpoint, then judge it against the index. Returns the
    verdict and the confusable-name warnings for the release it concerns (API and web page)."""
    view = svc.chain_view()
    with svc.session() as s:
        probe = svc.prober.probe(url, claimed, IndexFacts(s, view.chain_id, view.registry))
        subject = claimed or (probe.claim.release if probe.claim else None)
        confusions = svc.confusions(s, subject.namespace) if subject else []
        checks = list(probe.checks)
        if subject is not None:
            checks.append(_latest_behaviour(svc, url, str(subject)))
        return app_store_check(s, url, subject, view, confusions, checks), confusions


def _latest_behaviour(svc: Any, url: str, release: str) -> Check:
    """The most recent behavioural check of this endpoint and release, with its age (they take
    tens of seconds, so `/v1/check` reports the cached result; start one with
    ``POST /v1/behaviour-checks``)."""
    job = svc.latest_behaviour(url, release)
    if job is None or job.check is None:
        return Check("behaviour", "skip", "no behavioural check has run (POST /v1/behaviour-checks to start one)")
    age = int(time.time() - (job.finished or job.created))
    c = job.check
    return Check(c.name, c.status, f"{c.detail} ({age} s ago)", {**c.evidence, "ageSeconds": age, "job": job.id})
