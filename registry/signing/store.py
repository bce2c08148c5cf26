"""The local store of signed manifests: ``<data folder>/manifests/<manifest digest>.json``.

``modelseal publish`` keeps every manifest it anchors here, and ``modelseal verify`` looks a
release's manifest up here by the digest the chain records. A stored file is re-parsed and its
digest re-checked on every read, so an edited file is refused, never trusted.

``manifests/pending/<release id>.json`` names the manifest a publish is about to anchor, written
before its transaction is sent: a publish interrupted after signing (the chain stopped answering,
the process was killed) finds it again and anchors that same manifest (its digest covers its
``created`` time), or sees that it was anchored meanwhile.
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


def fetch_manifest(verifier_url: str, manifest_digest: bytes, *, timeout: float = 10.0) -> Manifest | None:
    """The manifest with that digest from a verifier service (``GET /v1/manifests/{digest}``), read
    as strictly as a file and kept only if its digest is the one asked for; ``None`` when the
    verifier does not have it. The verifier is a convenience, never trusted: every check that
    follows (signatures, signer at anchoring time, the files) is made here."""
    import httpx

    from registry.signing.manifest import MAX_MANIFEST_BYTES

    url = f"{verifier_url.rstrip('/')}/v1/manifests/{manifest_digest.hex()}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client, client.stream("GET", url) as resp:
            if resp.status_code == 404:
                return None
            if resp.status_code != 200:
                raise InputError(f"the verifier at {verifier_url} answered {resp.status_code} for the manifest")
            body = b""
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > 2 * MAX_MANIFEST_BYTES:
                    raise InputError(f"the verifier at {verifier_url} sent an oversized manifest")
    except httpx.HTTPError as exc:
        raise InputError(
            f"cannot reach the verifier at {verifier_url} ({type(exc).__name__})", hint="check MODELSEAL_VERIFIER_URL"
        ) from None
    from registry import jsontext

    doc = jsontext.loads(body, what="the verifier's answer", error=InputError, max_bytes=2 * MAX_MANIFEST_BYTES)
    manifest = Manifest.from_dict(doc)
    return manifest if manifest.digest.value == manifest_digest else None


def upload_manifest(verifier_url: str, manifest: Manifest, *, timeout: float = 30.0) -> dict[str, object]:
    """Give a signed, anchored manifest to a verifier service (``POST /v1/manifests``) so that its
    filing, lineage and co-signatures are served; returns the service's answer. A refusal is an
    :class:`InputError` carrying the service's own words (its problem details)."""
    import httpx

    url = f"{verifier_url.rstrip('/')}/v1/manifests"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            resp = client.post(url, json=manifest.document())
    except httpx.HTTPError as exc:
        raise InputError(
            f"cannot reach the verifier at {verifier_url} ({type(exc).__name__})", hint="check MODELSEAL_VERIFIER_URL"
        ) from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code not in (200, 201) or not isinstance(body, dict):
        detail = body.get("detail") if isinstance(body, dict) else None
        raise InputError(
            f"the verifier refused the manifest ({resp.status_code}): {detail or resp.text[:200]}",
            hint="it accepts a manifest once its release is anchored and indexed; try again in a few seconds",
        )
    return body


def find_manifest(home: Path, manifest_digest: bytes) -> Manifest | None:
    """A stored manifest with that digest, re-checked on read; None if absent."""
    from registry.files import read_limited
    from registry.signing.manifest import MAX_MANIFEST_BYTES

    path = manifest_store(home) / f"{manifest_digest.hex()}.json"
    if not path.is_file():
        return None
    manifest = Manifest.from_json(read_limited(path, MAX_MANIFEST_BYTES, what="stored manifest"))
    if manifest.digest.value != manifest_digest:
        raise InputError(f"stored manifest {path} does not have the digest its name says", hint="delete it")
    return manifest


def _pending_path(home: Path, release_id: bytes) -> Path:
    return manifest_store(home) / "pending" / f"{release_id.hex()}.json"


def save_pending(home: Path, release_id: bytes, manifest: Manifest) -> Path:
    """Record ``manifest`` as the one about to be anchored for the release (and keep it by digest)."""
    save_manifest(home, manifest)
    path = _pending_path(home, release_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(manifest.to_json())
    os.replace(tmp, path)
    return path


def find_pending(home: Path, release_id: bytes) -> Manifest | None:
    """The manifest an earlier, unfinished publish of this release signed; None if there is none
    (or it is unreadable: then a new one is signed)."""
    path = _pending_path(home, release_id)
    try:
        from registry.files import read_limited

        return Manifest.from_json(read_limited(path, 1 << 20, what="pending manifest")) if path.is_file() else None
    except InputError:
        return None


def clear_pending(home: Path, release_id: bytes) -> None:
    _pending_path(home, release_id).unlink(missing_ok=True)
