"""OpenSSF model signing (OMS) signatures: read their file list and compare it with modelseal's.

A publisher who already signs releases with OMS (``model_signing``, PyPI ``model-signing``) can
check that modelseal hashes the same bytes before anchoring the release: :meth:`OmsSignature.read`
parses a signature file and :func:`compare` tells, file by file, whether each digest it lists
agrees with a :class:`registry.hashing.model.ModelDigest` of the folder.

This module owns reading that format and the comparison, nothing else. It does **not** verify the
OMS signature itself (key, certificate or Sigstore identity): ``model_signing verify`` does. It
reads the signed statement, checks it is consistent (the subject digest is the SHA-256 of the
resource digests in order, as OMS computes it) and refuses anything it does not understand.

The format, as written by model-signing 1.1.1 (checked by ``tests/test_oms.py`` with the real
package): a Sigstore bundle (JSON) whose ``dsseEnvelope`` has ``payloadType``
``application/vnd.in-toto+json`` and a base64 ``payload``, an in-toto statement::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "<model name>", "digest": {"sha256": "<hex>"}}],
     "predicateType": "https://model_signing/signature/v1.0",
     "predicate": {"serialization": {"method": "files", "hash_type": "blake3",
                                     "allow_symlinks": false, "ignore_paths": [".git", ...]},
                   "resources": [{"name": "sub/w.bin", "algorithm": "blake3", "digest": "<hex>"}]}}

A single-file model has one resource named ``"."``. With ``hash_type`` ``blake3`` each digest is
plain BLAKE3, the very value modelseal records, so the comparison reads nothing more. For
``sha256`` (OMS's default) and ``blake2b`` the files are read once more with that algorithm.
Shard serialization (``method: shards``) is refused: its digests cover byte ranges, not files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from registry.errors import InputError
from registry.hashing.model import ModelDigest

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
_OLD_PREDICATE_TYPE = "https://model_signing/Digests/v0.1"
_DIGEST_BYTES = {"blake3": 32, "sha256": 32, "blake2b": 64}
_HINT = "give the signature file written by `model_signing sign` (e.g. model.sig)"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""Largest OMS bundle read (64 MiB: a statement lists one digest per file)."""

Status = Literal["match", "differs", "missing", "unsigned"]
"""``missing``: signed by OMS, not in modelseal's file list; ``unsigned``: the reverse."""


@dataclass(frozen=True, slots=True)
class OmsResource:
    """One file as the OMS signature records it."""

    name: str
    algorithm: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class OmsSignature:
    """The parsed, self-consistent content of an OMS signature (its signature not verified)."""

    model_name: str
    hash_type: str
    allow_symlinks: bool
    ignore_paths: tuple[str, ...]
    resources: tuple[OmsResource, ...]

    @classmethod
    def read(cls, path: Path) -> OmsSignature:
        from registry.files import read_limited

        return cls.from_json(read_limited(path, MAX_BUNDLE_BYTES, what="OMS signature"), source=str(path))

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "OMS signature") -> OmsSignature:
        """Parse a Sigstore bundle holding an OMS statement; refuse anything malformed."""

        def bad(why: str, hint: str = _HINT) -> InputError:
            return InputError(f"{source} is not an OMS model signature: {why}", hint=hint)

        from registry import jsontext

        try:
            bundle = jsontext.loads(text, what="it", max_bytes=MAX_BUNDLE_BYTES)
        except InputError as exc:
            raise bad(exc.message) from None
        envelope = _field(bundle, "dsseEnvelope", dict, bad)
        if envelope.get("payloadType") != PAYLOAD_TYPE:
            raise bad(f"DSSE payloadType is {envelope.get('payloadType')!r}, not {PAYLOAD_TYPE!r}")
        try:
            payload = base64.b64decode(_field(envelope, "payload", str, bad), validate=True)
            statement = jsontext.loads(payload, what="the DSSE payload", max_bytes=MAX_BUNDLE_BYTES)
        except (binascii.Error, ValueError, InputError):
            raise bad("the DSSE payload is not base64 JSON") from None
        if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
            raise bad("the payload is not an in-toto v1 statement")
        predicate_type = statement.get("predicateType")
        if predicate_type == _OLD_PREDICATE_TYPE:
            raise bad("it uses the pre-1.0 format (Digests/v0.1)", hint="sign the model again with model_signing 1.x")
        if predicate_type != PREDICATE_TYPE:
            raise bad(f"predicateType {predicate_type!r} is not {PREDICATE_TYPE!r}")
        subjects = _field(statement, "subject", list, bad)
        if len(subjects) != 1 or not isinstance(subjects[0], dict):
            raise bad("expected exactly one subject")
        model_name = _field(subjects[0], "name", str, bad)
        root_digest = _field(_field(subjects[0], "digest", dict, bad), "sha256", str, bad)
        predicate = _field(statement, "predicate", dict, bad)
        serialization = _field(predicate, "serialization", dict, bad)
        method = _field(serialization, "method", str, bad)
        if method != "files":
            raise bad(
                f"its serialization method is {method!r}; modelseal compares per-file digests",
                hint="sign with file serialization (model_signing's default; always the case with blake3)",
            )
        hash_type = _field(serialization, "hash_type", str, bad)
        if hash_type not in _DIGEST_BYTES:
            raise bad(f"unsupported hash_type {hash_type!r} (modelseal reads blake3, sha256, blake2b)")
        ignore = serialization.get("ignore_paths", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise bad("serialization.ignore_paths is not a list of strings")
        resources: list[OmsResource] = []
        root = hashlib.sha256()
        for item in _field(predicate, "resources", list, bad):
            if not isinstance(item, dict):
                raise bad("a resource is not an object")
            name = _field(item, "name", str, bad)
            algorithm = _field(item, "algorithm", str, bad)
            if algorithm != hash_type:
                raise bad(f"resource {name!r} uses {algorithm!r}, the serialization says {hash_type!r}")
            try:
                digest = bytes.fromhex(_field(item, "digest", str, bad))
            except ValueError:
                raise bad(f"resource {name!r} has a digest that is not hex") from None
            if len(digest) != _DIGEST_BYTES[hash_type]:
                raise bad(f"resource {name!r} has a {len(digest)}-byte {hash_type} digest")
            root.update(digest)
            resources.append(OmsResource(name, algorithm, digest))
        if len({r.name for r in resources}) != len(resources):
            raise bad("a resource is listed twice")
        if root.hexdigest() != root_digest.lower():
            raise bad(
                "its subject digest is not the SHA-256 of its resource digests (edited after signing?)",
                hint="do not trust this signature; ask the publisher for the original",
            )
        return cls(model_name, hash_type, serialization.get("allow_symlinks") is True, tuple(ignore), tuple(resources))


def _field(obj: Any, name: str, kind: type, bad: Callable[[str], InputError]) -> Any:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        raise bad(f"missing or malformed {name!r}")
    return value


@dataclass(frozen=True, slots=True)
class FileAgreement:
    """One file's verdict: what modelseal computed and what the OMS signature says (hex)."""

    path: str
    status: Status
    modelseal: str | None
    oms: str | None

    def as_json(self) -> dict[str, str | None]:
        return {"path": self.path, "status": self.status, "modelseal": self.modelseal, "oms": self.oms}


@dataclass(frozen=True, slots=True)
class OmsComparison:
    """Every file of either side, sorted by path, with its status."""

    signature: OmsSignature
    files: tuple[FileAgreement, ...]
    suggested_ignore: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return bool(self.files) and all(f.status == "match" for f in self.files)

    def counts(self) -> dict[str, int]:
        out = {"match": 0, "differs": 0, "missing": 0, "unsigned": 0}
        for f in self.files:
            out[f.status] += 1
        return out

    def as_json(self) -> dict[str, Any]:
        sig = self.signature
        return {
            "agrees": self.agrees,
            "model": sig.model_name,
            "hashType": sig.hash_type,
            "ignorePaths": list(sig.ignore_paths),
            "signatureVerified": False,
            "counts": self.counts(),
            "suggestedIgnore": list(self.suggested_ignore),
            "files": [f.as_json() for f in self.files],
        }


def compare(signature: OmsSignature, model: ModelDigest, path: Path) -> OmsComparison:
    """Compare an OMS signature with modelseal's hash of the model at ``path``.

    With ``blake3`` the recorded digests are compared directly; with ``sha256`` or ``blake2b``
    the files both sides list are read again with that algorithm.
    """
    ours = {f.path: f for f in model.files}
    theirs: dict[str, OmsResource] = {}
    for r in signature.resources:
        name = model.files[0].path if model.kind == "file" and r.name == "." else r.name
        theirs[name] = r
    path = Path(path)
    out: list[FileAgreement] = []
    for name in sorted(ours.keys() | theirs.keys()):
        mine, signed = ours.get(name), theirs.get(name)
        if mine is None:
            assert signed is not None
            out.append(FileAgreement(name, "missing", None, signed.digest.hex()))
            continue
        if signed is None:
            out.append(FileAgreement(name, "unsigned", _hex_as(mine.digest.value, signature.hash_type), None))
            continue
        if signature.hash_type == "blake3":
            value = mine.digest.value
        else:
            value = _file_digest(path if model.kind == "file" else path / name, signature.hash_type)
        status: Status = "match" if value == signed.digest else "differs"
        out.append(FileAgreement(name, status, value.hex(), signed.digest.hex()))
    unsigned = [f.path for f in out if f.status == "unsigned"]
    suggested = sorted(
        {
            rule
            for p in signature.ignore_paths
            for rule in (p.rstrip("/"), p.rstrip("/") + "/")
            if any(u == rule or (rule.endswith("/") and u.startswith(rule)) for u in unsigned)
        }
    )
    return OmsComparison(signature, tuple(out), tuple(suggested))


def _hex_as(blake3_digest: bytes, hash_type: str) -> str | None:
    """modelseal's digest of an unsigned file, when it is in the signature's algorithm."""
    return blake3_digest.hex() if hash_type == "blake3" else None


def _file_digest(path: Path, algorithm: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, algorithm).digest()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
