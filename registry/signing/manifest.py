"""The ``modelseal/manifest/v1`` document: what a release is, in one signed JSON object.

A manifest names the release (namespace, model, version), its publisher DID, the model's file
list and weights digest, and optionally a license, a model-card digest, lineage and a regulator
filing block. It is canonicalised with RFC 8785 (JCS); its **manifest digest** is the BLAKE3 of
the JCS bytes of the document without ``proof``. That digest is what goes on chain.

Parse, then trust: :meth:`Manifest.from_json` refuses any document that is not well formed, whose
weights digest does not follow from its own file list, or that is not in canonical form (so
two readers can never disagree on what was signed). A constructed :class:`Manifest` has passed
those checks. Proofs are kept as plain objects here; :mod:`registry.signing.proofs` makes and checks them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import rfc8785
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from registry import jsontext
from registry.errors import InputError, ManifestInconsistent, ManifestInvalid
from registry.hashing.model import (
    Digest,
    FileEntry,
    ModelDigest,
    check_ignore_rules,
    check_relative_path,
    weights_digest,
)
from registry.names import ReleaseName, check_model, check_namespace, check_version
from registry.signing.keys import check_did

MANIFEST_TYPE = "modelseal/manifest/v1"
MAX_MANIFEST_BYTES = 1 << 20
"""A manifest document is at most 1 MiB of JSON (one with 1,000 files and 16 proofs is ~200 KB)."""
MAX_PROOFS = 16
"""At most this many proofs on one manifest (the publisher's, co-signers', endorsers')."""
MAX_PROOF_BYTES = 4096
"""One proof's canonical JSON is at most this long (an eddsa-jcs-2022 proof is ~400 bytes)."""
JSON_SAFE_INTEGER = 2**53 - 1
HexDigest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
LineageRelation = Literal["fine-tune", "quantization", "distillation", "merge", "adapter"]
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def check_text(value: str) -> str:
    """A free-text member (``license``, ``filing.jurisdiction``, ``filing.number``): Unicode NFC,
    no control, format (e.g. bidirectional overrides), private-use or unassigned characters, no
    line breaks, and no space at either end - so what a person reads is what was signed."""
    if not unicodedata.is_normalized("NFC", value):
        raise ValueError("text must be in Unicode NFC form")
    for ch in value:
        if unicodedata.category(ch) in _HIDDEN:
            raise ValueError(f"text holds the invisible or control character U+{ord(ch):04X}")
    if value != value.strip():
        raise ValueError("text must not start or end with white space")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class ReleaseBlock(_Strict):
    namespace: str
    model: str
    version: str

    @model_validator(mode="after")
    def _names(self) -> ReleaseBlock:
        check_namespace(self.namespace)
        check_model(self.model)
        check_version(self.version)
        return self

    @property
    def name(self) -> ReleaseName:
        return ReleaseName(self.namespace, self.model, self.version)


class FileItem(_Strict):
    path: str
    size: int = Field(ge=0, le=JSON_SAFE_INTEGER)
    blake3: HexDigest

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_relative_path(value)


class WeightsBlock(_Strict):
    kind: Literal["file", "folder"]
    algorithm: Literal["blake3"] = "blake3"
    digest: HexDigest
    files: list[FileItem] = Field(min_length=1)
    ignore: list[str] = Field(default_factory=list)

    @field_validator("ignore")
    @classmethod
    def _ignore(cls, value: list[str]) -> list[str]:
        check_ignore_rules(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WeightsBlock:
        paths = [f.path for f in self.files]
        if paths != sorted(paths):
            raise ValueError("weights.files must be sorted by path")
        entries = [FileEntry(f.path, f.size, Digest.from_hex(f.blake3)) for f in self.files]
        expected = weights_digest(self.kind, entries).hex
        if expected != self.digest:
            raise ValueError(f"weights.digest {self.digest} does not follow from weights.files (they give {expected})")
        return self

    def entries(self) -> tuple[FileEntry, ...]:
        return tuple(FileEntry(f.path, f.size, Digest.from_hex(f.blake3)) for f in self.files)


class LineageItem(_Strict):
    relation: LineageRelation
    of: str = Field(description="a weights digest (64 hex) or a release name namespace/model/version")

    @field_validator("of")
    @classmethod
    def _of(cls, value: str) -> str:
        if re.fullmatch(r"[0-9a-f]{64}", value):
            return value
        ReleaseName.parse(value)
        return value


class FilingBlock(_Strict):
    jurisdiction: str = Field(min_length=1, max_length=64)
    number: str = Field(min_length=1, max_length=128)
    risk_assessment: HexDigest | None = Field(default=None, alias="riskAssessment")

    @field_validator("jurisdiction", "number")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value)


class Manifest(_Strict):
    """A validated manifest. Build one with :meth:`create` or :meth:`from_json`."""

    type: Literal["modelseal/manifest/v1"]
    release: ReleaseBlock
    publisher: str
    weights: WeightsBlock
    created: str
    license: str | None = Field(default=None, min_length=1, max_length=128)
    model_card: HexDigest | None = Field(default=None, alias="modelCard")
    lineage: list[LineageItem] | None = Field(default=None, min_length=1)
    filing: FilingBlock | None = None
    proof: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_PROOFS)

    @field_validator("publisher")
    @classmethod
    def _publisher(cls, value: str) -> str:
        return check_did(value)

    @field_validator("license")
    @classmethod
    def _license(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value)

    @field_validator("lineage")
    @classmethod
    def _lineage(cls, value: list[LineageItem] | None) -> list[LineageItem] | None:
        if value is not None and len({(i.relation, i.of) for i in value}) != len(value):
            raise ValueError("lineage lists the same entry twice")
        return value

    @field_validator("created")
    @classmethod
    def _created(cls, value: str) -> str:
        if not _TIMESTAMP.fullmatch(value):
            raise ValueError("created must be a UTC time like 2026-01-31T12:00:00Z")
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        return value

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        release: ReleaseName,
        publisher: str,
        model: ModelDigest,
        *,
        license: str | None = None,
        model_card: Digest | None = None,
        lineage: list[tuple[str, str]] | None = None,
        filing: dict[str, str] | None = None,
        created: datetime | None = None,
    ) -> Manifest:
        when = (created or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc: dict[str, Any] = {
            "type": MANIFEST_TYPE,
            "release": {"namespace": release.namespace, "model": release.model, "version": release.version},
            "publisher": publisher,
            "weights": {
                "kind": model.kind,
                "algorithm": "blake3",
                "digest": model.weights.hex,
                "files": [f.as_json() for f in model.files],
                "ignore": list(model.ignore),
            },
            "created": when,
        }
        if license:
            doc["license"] = license
        if model_card is not None:
            doc["modelCard"] = model_card.hex
        if lineage:
            doc["lineage"] = [{"relation": r, "of": o} for r, o in lineage]
        if filing:
            doc["filing"] = filing
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: Any) -> Manifest:
        if not isinstance(doc, dict):
            raise ManifestInvalid("a manifest is a JSON object")
        raw = dict(doc)
        if isinstance(raw.get("proof"), dict):
            raw["proof"] = [raw["proof"]]
        if raw.get("type") != MANIFEST_TYPE:
            raise ManifestInvalid(
                f"not a {MANIFEST_TYPE} document (type is {raw.get('type')!r})",
                hint="is this a modelseal manifest? other versions of the format are not read by this release",
            )
        try:
            manifest = cls.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "document"
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            if "does not follow from weights.files" in msg:
                raise ManifestInconsistent(f"manifest refused: {msg}") from None
            raise ManifestInvalid(f"manifest refused at {where}: {msg}") from None
        except InputError as exc:  # a name or path check raised our own error inside a validator
            raise ManifestInvalid(f"manifest refused: {exc.message}", hint=exc.hint) from None
        for i, proof in enumerate(manifest.proof or ()):
            try:
                size = len(rfc8785.dumps(proof))
            except rfc8785.CanonicalizationError as exc:
                raise ManifestInvalid(f"manifest refused at proof.{i}: {exc}") from None
            if size > MAX_PROOF_BYTES:
                raise ManifestInvalid(f"manifest refused at proof.{i}: {size:,} bytes, over {MAX_PROOF_BYTES:,}")
        size = len(manifest.to_json().encode())
        if size > MAX_MANIFEST_BYTES:  # what is made or accepted here must read back (files, uploads)
            raise ManifestInvalid(
                f"manifest is {size:,} bytes as written, over the limit of {MAX_MANIFEST_BYTES:,}",
                hint="a release of this many files is beyond this format version; publish fewer, larger files",
            )
        unsigned = {k: v for k, v in raw.items() if k != "proof"}
        if manifest.unsigned_document() != unsigned:
            raise ManifestInvalid(
                "manifest is not in canonical form (a field has an unexpected value or an empty optional block)",
                hint="recreate it with `modelseal manifest create`",
            )
        return manifest

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        doc = jsontext.loads(text, what="manifest", error=ManifestInvalid, max_bytes=MAX_MANIFEST_BYTES)
        return cls.from_dict(doc)

    # --- canonical forms -------------------------------------------------------------------

    def unsigned_document(self) -> dict[str, Any]:
        """The document without ``proof``: what the manifest digest and signatures cover."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"proof"})

    def document(self) -> dict[str, Any]:
        doc = self.unsigned_document()
        if self.proof:
            doc["proof"] = list(self.proof)
        return doc

    def canonical_bytes(self) -> bytes:
        """RFC 8785 bytes of the unsigned document."""
        return rfc8785.dumps(self.unsigned_document())

    @property
    def digest(self) -> Digest:
        """The manifest digest: BLAKE3 of the JCS bytes without ``proof``."""
        return Digest.of_bytes(self.canonical_bytes())

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n"

    def with_proof(self, proof: dict[str, Any]) -> Manifest:
        """A copy with one more proof in its proof set."""
        return self.model_copy(update={"proof": [*(self.proof or []), proof]})

    @property
    def release_name(self) -> ReleaseName:
        return self.release.name

    @property
    def weights_digest(self) -> Digest:
        return Digest.from_hex(self.weights.digest)


def compare_model(manifest: Manifest, model: ModelDigest) -> list[str]:
    """Differences between the manifest's file list and a fresh hash of the model, one line each.

    Empty when the model is exactly what the manifest records.
    """
    recorded = {e.path: e for e in manifest.weights.entries()}
    found = {e.path: e for e in model.files}
    problems: list[str] = []
    if manifest.weights.kind != model.kind:
        problems.append(f"manifest records a {manifest.weights.kind}, the path is a {model.kind}")
    if model.kind == "file" and manifest.weights.kind == "file":
        # a single file is identified by its bytes, not its name
        recorded = {"<file>": manifest.weights.entries()[0]}
        found = {"<file>": model.files[0]}
    for path in sorted(recorded.keys() | found.keys()):
        want, got = recorded.get(path), found.get(path)
        if got is None:
            problems.append(f"missing: {path}")
        elif want is None:
            problems.append(f"not in manifest: {path}")
        elif want.size != got.size:
            problems.append(f"size differs: {path} ({got.size} bytes, manifest says {want.size})")
        elif want.digest != got.digest:
            problems.append(
                f"content differs: {path} (blake3 {got.digest.hex[:16]}…, manifest says {want.digest.hex[:16]}…)"
            )
    if not problems and model.weights != manifest.weights_digest:
        problems.append(f"weights digest differs: {model.weights.hex}")
    return problems
