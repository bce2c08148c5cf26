"""Reads over the index: what the API and the web page show. No web framework here.

Every function takes a SQLAlchemy :class:`~sqlalchemy.orm.Session` and returns plain JSON-ready
data (dicts, lists), so the REST API and the HTML page show the same facts.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from registry import times
from verifier.index.schema import (
    EndorsementRow,
    EventLink,
    EventRow,
    ManifestRow,
    NamespaceRow,
    OperatorRow,
    ReleaseRow,
    SignerRow,
)


def iso(ts: int | None) -> str | None:
    """:func:`registry.times.iso`, with ``None`` for 0 or None (never happened)."""
    return times.iso(ts) if ts else None


def release_name(r: ReleaseRow) -> str:
    return f"{r.namespace}/{r.model}/{r.version}"


def release_json(r: ReleaseRow) -> dict[str, Any]:
    return {
        "release": release_name(r),
        "namespace": r.namespace,
        "model": r.model,
        "version": r.version,
        "releaseId": r.id,
        "weightsDigest": r.weights_digest,
        "manifestDigest": r.manifest_digest,
        "signerDidHash": r.signer_did_hash,
        "publisher": r.publisher,
        "publishedAt": iso(r.published_at),
        "block": r.block_number,
        "tx": r.tx_hash,
        "revoked": bool(r.revoked_at),
        "revokedAt": iso(r.revoked_at),
        "revokeReason": r.revoke_reason,
    }


def signer_json(sg: SignerRow, now: int) -> dict[str, Any]:
    active = sg.valid_from <= now and (sg.valid_until == 0 or now < sg.valid_until)
    return {
        "did": sg.did,
        "didHash": sg.did_hash,
        "validFrom": iso(sg.valid_from),
        "validUntil": iso(sg.valid_until),
        "active": active,
    }


def operator_scope(op: OperatorRow) -> str:
    """``namespace/model`` (every version) or ``namespace/model/version`` (one release)."""
    return f"{op.namespace}/{op.model}" + (f"/{op.version}" if op.version else "")


def operator_origins(op: OperatorRow) -> tuple[str, ...]:
    """The origins the authorisation is pinned to (empty: not pinned)."""
    return tuple(str(o) for o in json.loads(op.origins or "[]"))


def operator_json(op: OperatorRow, now: int) -> dict[str, Any]:
    scope = operator_scope(op)
    return {
        "operator": op.operator_did,
        "operatorDidHash": op.operator_did_hash,
        "scope": scope,
        "scopeKind": "release" if op.version else "model",
        "expiresAt": iso(op.expires_at),
        "revokedAt": iso(op.revoked_at),
        "origins": list(operator_origins(op)),
        "active": op.revoked_at == 0 and op.expires_at > now,
    }


def endorsement_json(
    e: EndorsementRow, trust: dict[str, list[str]], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """``endorserLabel`` is what this verifier's trust list calls the account (``MODELSEAL_TRUST_LABELS``)."""
    return {
        "kind": e.kind,
        "endorser": e.endorser,
        "endorserLabel": (labels or {}).get(e.endorser.lower()),
        "dataDigest": e.data_digest,
        "time": iso(e.time),
        "revoked": bool(e.revoked_at),
        "trusted": e.endorser.lower() in trust.get(e.kind, []),
    }


def event_json(ev: EventRow) -> dict[str, Any]:
    return {
        "cursor": ev.id,
        "event": ev.name,
        "namespace": ev.namespace,
        "block": ev.block_number,
        "tx": ev.tx_hash,
        "time": iso(ev.time),
        "args": json.loads(ev.args),
        "alerts": json.loads(ev.alerts) if ev.alerts else None,
    }


# --- namespaces ----------------------------------------------------------------------------


def list_namespaces(s: Session, q: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    stmt = select(NamespaceRow).order_by(NamespaceRow.name).limit(limit).offset(offset)
    if q:
        stmt = stmt.where(NamespaceRow.name.contains(q.lower()))
    rows = s.scalars(stmt).all()
    counts = {ns: n for ns, n in s.execute(select(ReleaseRow.namespace, func.count()).group_by(ReleaseRow.namespace))}
    return [
        {"name": n.name, "namespaceId": n.id, "controller": n.controller, "releases": counts.get(n.name, 0)}
        for n in rows
    ]


def namespace_names(s: Session) -> list[str]:
    return list(s.scalars(select(NamespaceRow.name)).all())


def get_namespace(s: Session, name: str, now: int) -> dict[str, Any] | None:
    ns = s.scalar(select(NamespaceRow).where(NamespaceRow.name == name))
    if ns is None:
        return None
    signers = s.scalars(select(SignerRow).where(SignerRow.namespace == name).order_by(SignerRow.valid_from)).all()
    operators = s.scalars(select(OperatorRow).where(OperatorRow.namespace == name).order_by(OperatorRow.model)).all()
    releases = s.scalars(
        select(ReleaseRow)
        .where(ReleaseRow.namespace == name)
        .order_by(ReleaseRow.block_number.desc(), func.coalesce(ReleaseRow.log_index, 0).desc())
    ).all()
    history = s.scalars(select(EventRow).where(EventRow.namespace == name).order_by(EventRow.id.desc()).limit(50)).all()
    return {
        "name": ns.name,
        "namespaceId": ns.id,
        "controller": ns.controller,
        "pendingController": ns.pending_controller,
        "claimedBlock": ns.claimed_block,
        "signers": [signer_json(sg, now) for sg in signers],
        "operators": [operator_json(op, now) for op in operators],
        "releases": [release_json(r) for r in releases],
        "history": [event_json(ev) for ev in history],
    }


# --- releases ------------------------------------------------------------------------------


def list_releases(s: Session, namespace: str | None, q: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    stmt = (
        select(ReleaseRow)
        .order_by(ReleaseRow.block_number.desc(), func.coalesce(ReleaseRow.log_index, 0).desc(), ReleaseRow.id)
        .limit(limit)
        .offset(offset)
    )
    if namespace:
        stmt = stmt.where(ReleaseRow.namespace == namespace)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(ReleaseRow.namespace.like(like), ReleaseRow.model.like(like), ReleaseRow.version.like(like))
        )
    return [release_json(r) for r in s.scalars(stmt).all()]


def find_release(s: Session, namespace: str, model: str, version: str) -> ReleaseRow | None:
    """The release of that exact name: by its on-chain id (the primary key), or by the name's
    columns for a name the Python checks would refuse (the chain's rules decide what exists)."""
    from registry.errors import InputError
    from registry.names import ReleaseName, release_id

    try:
        row = s.get(ReleaseRow, "0x" + release_id(ReleaseName(namespace, model, version)).hex())
    except InputError:
        row = s.scalar(
            select(ReleaseRow).where(
                ReleaseRow.namespace == namespace, ReleaseRow.model == model, ReleaseRow.version == version
            )
        )
    return row if row is not None and (row.namespace, row.model, row.version) == (namespace, model, version) else None


def release_detail(
    s: Session, r: ReleaseRow, now: int, trust: dict[str, list[str]], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A release with its signer, operators, endorsements, manifest and history, as at chain time
    ``now`` (see :func:`release_detail_until`)."""
    return release_detail_until(s, r, now, trust, labels)[0]


def release_detail_until(
    s: Session, r: ReleaseRow, now: int, trust: dict[str, list[str]], labels: dict[str, str] | None = None
) -> tuple[dict[str, Any], int | None]:
    """:func:`release_detail`, and the first chain time after ``now`` at which it would read
    otherwise without any new event (its signer becoming valid or expiring, an operator's grant
    expiring), or None: how long a cached copy holds (:mod:`verifier.cache`)."""
    operators = s.scalars(
        select(OperatorRow).where(
            OperatorRow.namespace == r.namespace,
            OperatorRow.model == r.model,
            or_(OperatorRow.version == "", OperatorRow.version == r.version),
        )
    ).all()
    endorsements = s.scalars(select(EndorsementRow).where(EndorsementRow.release_id == r.id)).all()
    signer = s.get(SignerRow, (r.namespace_id, r.signer_did_hash))
    manifest = s.get(ManifestRow, r.manifest_digest)
    history = s.scalars(
        select(EventRow).where(EventRow.namespace == r.namespace, EventRow.args.contains(r.id)).order_by(EventRow.id)
    ).all()
    detail = {
        **release_json(r),
        "signer": signer_json(signer, now) if signer else None,
        "operators": [operator_json(op, now) for op in operators],
        "endorsements": [endorsement_json(e, trust, labels) for e in endorsements],
        "manifest": json.loads(manifest.document) if manifest else None,
        "history": [event_json(ev) for ev in history],
    }
    changes = [op.expires_at for op in operators if op.revoked_at == 0]
    if signer is not None:
        changes += [signer.valid_from, signer.valid_until or 0]
    return detail, min((t for t in changes if t > now), default=None)


def releases_by_weights(s: Session, digest: str, limit: int = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """How many releases anchor these weights, and one page of them in publish order (anyone may
    anchor any digest, so there may be thousands)."""
    where = ReleaseRow.weights_digest == digest
    count = int(s.scalar(select(func.count()).select_from(ReleaseRow).where(where)) or 0)
    rows = s.scalars(
        select(ReleaseRow)
        .where(where)
        .order_by(ReleaseRow.block_number, func.coalesce(ReleaseRow.log_index, 0), ReleaseRow.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return count, [release_json(r) for r in rows]


def signer_valid_at(s: Session, namespace_id: str, did_hash: str, t: int) -> bool:
    sg = s.get(SignerRow, (namespace_id, did_hash))
    return sg is not None and sg.valid_from <= t and (sg.valid_until == 0 or t < sg.valid_until)


def operator_grants(s: Session, namespace: str, model: str, version: str, did_hash: str) -> list[OperatorRow]:
    """Every authorisation of an operator key that covers this release (model or release scope),
    active or not: the verdict rule judges them at chain time."""
    return list(
        s.scalars(
            select(OperatorRow).where(
                OperatorRow.namespace == namespace,
                OperatorRow.model == model,
                OperatorRow.operator_did_hash == did_hash,
                or_(OperatorRow.version == "", OperatorRow.version == version),
            )
        ).all()
    )


# --- endorsements and filings ---------------------------------------------------------------


def endorsements_of(
    s: Session, r: ReleaseRow, trust: dict[str, list[str]], labels: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(EndorsementRow).where(EndorsementRow.release_id == r.id).order_by(EndorsementRow.time)
    ).all()
    return [endorsement_json(e, trust, labels) for e in rows]


def filings(s: Session, trust: dict[str, list[str]], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Releases whose manifest carries a filing block, with the status trusted endorsers gave it.

    ``approved`` needs an unrevoked ``filing.approved`` endorsement from an account the trust list
    names for that kind; ``submitted`` likewise with ``filing.submitted``; otherwise ``declared``
    (the publisher claims a filing nobody trusted has confirmed).
    """
    out = []
    for manifest in s.scalars(select(ManifestRow)).all():
        doc = json.loads(manifest.document)
        filing = doc.get("filing")
        if not filing:
            continue
        r = s.scalar(select(ReleaseRow).where(ReleaseRow.manifest_digest == manifest.digest))
        if r is None:
            continue
        ends = [e for e in endorsements_of(s, r, trust, labels) if e["trusted"] and not e["revoked"]]
        kinds = {e["kind"] for e in ends}
        status = (
            "approved" if "filing.approved" in kinds else "submitted" if "filing.submitted" in kinds else "declared"
        )
        out.append(
            {
                "filingNumber": filing["number"],
                "jurisdiction": filing["jurisdiction"],
                "release": release_name(r),
                "status": status,
                "revoked": bool(r.revoked_at),
                "endorsements": ends,
            }
        )
    return sorted(out, key=lambda f: (f["jurisdiction"], f["filingNumber"]))


# --- monitor feed --------------------------------------------------------------------------


def feed(s: Session, namespace: str | None, cursor: int, limit: int) -> dict[str, Any]:
    if namespace:
        stmt = (
            select(EventRow)
            .join(EventLink, EventLink.event_id == EventRow.id)
            .where(EventLink.namespace == namespace, EventRow.id > cursor)
        )
    else:
        stmt = select(EventRow).where(EventRow.id > cursor)
    rows = s.scalars(stmt.order_by(EventRow.id).limit(limit)).all()
    events = [event_json(ev) for ev in rows]
    return {"events": events, "nextCursor": events[-1]["cursor"] if events else cursor}


def manifest_document(s: Session, digest: str) -> dict[str, Any] | None:
    row = s.get(ManifestRow, digest)
    return json.loads(row.document) if row else None
