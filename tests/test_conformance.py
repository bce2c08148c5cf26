"""modelseal's conformance vectors (``tests/vectors/modelseal/``), run against this implementation.

Each file holds vectors ``{id, description, input, expected}``; ``expected`` is either the result
or ``{"error": <class>}``, with the classes listed in the file's ``errors`` member. This module is
the adapter between the vectors and modelseal's code: it maps each domain exception to the class a
vector names (another implementation writes its own adapter and runs the same files; see
``tests/vectors/modelseal/README.md``). ``scripts/make_vectors.py`` writes the files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry import errors, jsontext
from registry.hashing.model import Digest, FileEntry, hash_model, weights_digest
from registry.identity.protocol import Claim, split_sse_receipt, verify_challenge, verify_receipt
from registry.names import (
    ReleaseName,
    check_model,
    check_namespace,
    check_version,
    did_id,
    model_id,
    namespace_id,
    release_id,
)
from registry.signing.keys import did_method, split_verification_method
from registry.signing.manifest import Manifest
from registry.signing.proofs import verify_manifest

VECTORS = Path(__file__).parent / "vectors" / "modelseal"
FILES = ("digests", "filelists", "manifests", "proofs", "names", "dids", "claims", "challenges", "receipts")


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return doc


def _cases(name: str) -> list[Any]:
    return [pytest.param(v, id=v["id"]) for v in _load(name)["vectors"]]


def _outcome(run: Callable[[], dict[str, Any]], classify: Callable[[errors.ModelsealError], str]) -> dict[str, Any]:
    try:
        return run()
    except errors.ModelsealError as exc:
        return {"error": classify(exc)}


def _check(vector: dict[str, Any], got: dict[str, Any], classes: dict[str, str]) -> None:
    expected = vector["expected"]
    if "error" in expected:
        assert expected["error"] in classes, f"{vector['id']}: unknown error class {expected['error']!r}"
    assert got == expected, f"{vector['id']} ({vector['description']}): got {got}, expected {expected}"


# --- digests ---------------------------------------------------------------------------------


def _build(root: Path, tree: list[dict[str, Any]]) -> None:
    for entry in tree:
        target = os.path.join(os.fsencode(root), bytes.fromhex(entry["pathHex"])) if "pathHex" in entry else None
        path = Path(os.fsdecode(target)) if target is not None else root / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if entry.get("folder"):
            path.mkdir(parents=True, exist_ok=True)
        elif entry.get("fifo"):
            os.mkfifo(path)
        elif "symlink" in entry:
            os.symlink(entry["symlink"], path)
        else:
            data = bytes.fromhex(entry["contentHex"]) if "contentHex" in entry else entry["content"].encode()
            path.write_bytes(data)


def _digest_class(exc: errors.ModelsealError) -> str:
    if isinstance(exc, errors.SymlinkRefused):
        return "symlink"
    if isinstance(exc, errors.SpecialFileRefused):
        return "special-file"
    if isinstance(exc, errors.EmptyModel):
        return "empty"
    if isinstance(exc, errors.PathRefused):
        return "path"
    return f"unexpected {type(exc).__name__}: {exc.message}"


@pytest.mark.parametrize("vector", _cases("digests"))
def test_digests(vector: dict[str, Any], tmp_path: Path) -> None:
    inp = vector["input"]
    _build(tmp_path, inp["tree"])

    def run() -> dict[str, Any]:
        md = hash_model(tmp_path / inp["model"], ignore=inp["ignore"], follow_symlinks=inp.get("followSymlinks", False))
        return {"kind": md.kind, "files": [f.as_json() for f in md.files], "digest": md.weights.hex}

    _check(vector, _outcome(run, _digest_class), _load("digests")["errors"])


def _filelist_class(exc: errors.ModelsealError) -> str:
    return "path" if isinstance(exc, errors.PathRefused) else "malformed"


@pytest.mark.parametrize("vector", _cases("filelists"))
def test_filelists(vector: dict[str, Any]) -> None:
    inp = vector["input"]

    def run() -> dict[str, Any]:
        entries = [FileEntry(f["path"], f["size"], Digest.from_hex(f["blake3"])) for f in inp["files"]]
        return {"digest": weights_digest(inp["kind"], entries).hex}

    _check(vector, _outcome(run, _filelist_class), _load("filelists")["errors"])


# --- manifests and proofs --------------------------------------------------------------------


def _manifest_class(exc: errors.ModelsealError) -> str:
    if isinstance(exc, errors.ManifestInconsistent):
        return "inconsistent"
    return "malformed" if isinstance(exc, errors.ManifestInvalid) else f"unexpected {type(exc).__name__}"


@pytest.mark.parametrize("vector", _cases("manifests"))
def test_manifests(vector: dict[str, Any]) -> None:
    text = vector["input"]["text"]

    def run() -> dict[str, Any]:
        try:  # I-JSON first: the one class a reader decides before looking at any member
            jsontext.loads(text, what="manifest", error=errors.ManifestInvalid)
        except errors.ManifestInvalid:
            return {"error": "json"}
        m = Manifest.from_json(text)
        return {"manifestDigest": m.digest.hex, "weightsDigest": m.weights.digest, "release": str(m.release_name)}

    _check(vector, _outcome(run, _manifest_class), _load("manifests")["errors"])


def _proof_class(exc: errors.ModelsealError) -> str:
    if isinstance(exc, errors.UnknownCryptosuite):
        return "suite"
    if isinstance(exc, errors.WrongKey | errors.Unsigned):
        return "signer"
    if isinstance(exc, errors.ManifestInvalid):
        return "malformed"
    return "proof" if isinstance(exc, errors.ProofInvalid) else f"unexpected {type(exc).__name__}"


@pytest.mark.parametrize("vector", _cases("proofs"))
def test_proofs(vector: dict[str, Any]) -> None:
    inp = vector["input"]

    def run() -> dict[str, Any]:
        manifest = Manifest.from_dict(inp["manifest"])
        results = verify_manifest(manifest, expected_signer=inp.get("expectedSigner"))
        return {"signers": [r.signer for r in results]}

    _check(vector, _outcome(run, _proof_class), _load("proofs")["errors"])


# --- names and DIDs --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("names"))
def test_names(vector: dict[str, Any]) -> None:
    kind, name = vector["input"]["kind"], vector["input"]["name"]

    def run() -> dict[str, Any]:
        out: dict[str, Any] = {"valid": True}
        if kind == "namespace":
            out["namespaceId"] = "0x" + namespace_id(check_namespace(name)).hex()
        elif kind == "model":
            check_model(name)
        elif kind == "version":
            check_version(name)
        else:
            r = ReleaseName.parse(name)
            out["namespaceId"] = "0x" + namespace_id(r.namespace).hex()
            out["modelId"] = "0x" + model_id(r.namespace, r.model).hex()
            out["releaseId"] = "0x" + release_id(r).hex()
        return out

    _check(vector, _outcome(run, lambda exc: "name" if isinstance(exc, errors.InvalidName) else "?"), {"name": ""})


@pytest.mark.parametrize("vector", _cases("dids"))
def test_dids(vector: dict[str, Any]) -> None:
    inp = vector["input"]

    def run() -> dict[str, Any]:
        if "did" in inp:
            method = did_method(inp["did"])
            return {"method": method, "didHash": "0x" + did_id(inp["did"]).hex()}
        return {"did": split_verification_method(inp["verificationMethod"])[0]}

    _check(vector, _outcome(run, lambda exc: "did" if isinstance(exc, errors.InvalidDID) else "?"), {"did": ""})


# --- identity --------------------------------------------------------------------------------


def _identity_class(exc: errors.ModelsealError) -> str:
    table: list[tuple[type[errors.ModelsealError], str]] = [
        (errors.OutdatedClaim, "outdated"),
        (errors.WrongNonce, "nonce"),
        (errors.StaleAnswer, "stale"),
        (errors.OperatorSignatureInvalid, "signature"),
        (errors.BodyMismatch, "body"),
        (errors.IdentityMalformed, "malformed"),
    ]
    return next((name for cls, name in table if isinstance(exc, cls)), f"unexpected {type(exc).__name__}")


@pytest.mark.parametrize("vector", _cases("claims"))
def test_claims(vector: dict[str, Any]) -> None:
    def run() -> dict[str, Any]:
        c = Claim.from_document(vector["input"]["document"])
        return {"release": str(c.release), "operator": c.operator, "origins": list(c.origins)}

    _check(vector, _outcome(run, _identity_class), _load("claims")["errors"])


@pytest.mark.parametrize("vector", _cases("challenges"))
def test_challenges(vector: dict[str, Any]) -> None:
    inp = vector["input"]

    def run() -> dict[str, Any]:
        signed = verify_challenge(inp["answer"], inp["nonce"], now=inp["now"])
        from registry.times import iso

        return {"origin": signed.origin, "time": iso(signed.time), "operator": signed.claim.operator}

    _check(vector, _outcome(run, _identity_class), _load("challenges")["errors"])


@pytest.mark.parametrize("vector", _cases("receipts"))
def test_receipts(vector: dict[str, Any]) -> None:
    inp = vector["input"]

    def run() -> dict[str, Any]:
        request, response, header = inp["request"].encode(), inp["response"].encode(), inp["receipt"]
        if header == "sse":
            response, header = split_sse_receipt(response)
        r = verify_receipt(header, request, response)
        from registry.times import iso

        return {"release": str(r.release), "operator": r.operator, "time": iso(r.time)}

    _check(vector, _outcome(run, _identity_class), _load("receipts")["errors"])


# --- the set as a whole ----------------------------------------------------------------------


def test_the_vector_set_is_complete() -> None:
    """At least 150 vectors, valid and invalid ones in every file, every error class used, ids unique."""
    total = 0
    for name in FILES:
        doc = _load(name)
        assert doc["format"] == "modelseal-conformance/v1"
        vectors = doc["vectors"]
        total += len(vectors)
        ids = [v["id"] for v in vectors]
        assert len(set(ids)) == len(ids), f"{name}: duplicate ids"
        assert any("error" not in v["expected"] for v in vectors), f"{name}: no valid case"
        assert any("error" in v["expected"] for v in vectors), f"{name}: no invalid case"
        used = {v["expected"]["error"] for v in vectors if "error" in v["expected"]}
        assert used <= set(doc["errors"]), f"{name}: classes not listed: {used - set(doc['errors'])}"
    identity_used = {
        v["expected"]["error"]
        for n in ("claims", "challenges", "receipts")
        for v in _load(n)["vectors"]
        if "error" in v["expected"]
    }
    assert identity_used == set(_load("claims")["errors"]), "an identity error class has no vector"
    assert sorted(p.stem for p in VECTORS.glob("*.json")) == sorted(FILES), "a vector file is not run"
    assert total >= 150, total
