"""registry.signing.manifest: the v1 document, canonical bytes, digest, parse-then-trust, golden files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import blake3
import pytest
import rfc8785
from conftest import GOLDEN

from registry import errors
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key, EthereumKey
from registry.signing.manifest import Manifest, compare_model
from registry.signing.proofs import sign_manifest, verify_manifest

RELEASE = ReleaseName("acme", "chat", "1.0.0")


@pytest.fixture
def doc(model_dir: Path, publisher_key: Ed25519Key) -> dict[str, Any]:
    return Manifest.create(RELEASE, publisher_key.did, hash_model(model_dir)).document()


def test_manifest_digest_is_blake3_of_jcs_without_proof(model_dir: Path, publisher_key: Ed25519Key) -> None:
    m = Manifest.create(
        RELEASE,
        publisher_key.did,
        hash_model(model_dir),
        license="Apache-2.0",
        lineage=[("fine-tune", "acme/base/1.0"), ("quantization", "ab" * 32)],
        filing={"jurisdiction": "CN", "number": "Beijing-Chat-20260101", "riskAssessment": "cd" * 32},
    )
    signed = sign_manifest(m, publisher_key)
    unsigned = {k: v for k, v in json.loads(signed.to_json()).items() if k != "proof"}
    assert signed.digest.value == blake3.blake3(rfc8785.dumps(unsigned)).digest()
    assert signed.digest == m.digest


def test_roundtrip_keeps_every_block(model_dir: Path, publisher_key: Ed25519Key) -> None:
    m = Manifest.create(
        RELEASE,
        publisher_key.did,
        hash_model(model_dir),
        license="Apache-2.0",
        model_card=blake3_digest(b"# card"),
        lineage=[("adapter", "acme/base/1.0")],
        filing={"jurisdiction": "CN", "number": "F-1"},
        created=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert again.created == "2026-01-02T03:04:05Z"
    assert again.filing is not None and again.filing.number == "F-1"
    assert again.lineage is not None and again.lineage[0].relation == "adapter"


def blake3_digest(data: bytes) -> Any:
    from registry.hashing.model import Digest

    return Digest.of_bytes(data)


def test_file_list_not_matching_weights_digest_refused(doc: dict[str, Any]) -> None:
    doc["weights"]["files"][0]["size"] += 1
    with pytest.raises(errors.ManifestInconsistent, match=r"does not follow from weights\.files"):
        Manifest.from_dict(doc)


def test_weights_digest_edited_refused(doc: dict[str, Any]) -> None:
    doc["weights"]["digest"] = "00" * 32
    with pytest.raises(errors.ManifestInconsistent):
        Manifest.from_dict(doc)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(type="modelseal/manifest/v9"), "not a modelseal/manifest/v1"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["release"].update(namespace="Acme"), "namespace"),
        (lambda d: d["release"].update(namespace="d\u0435epseek"), "U\\+0435"),  # Cyrillic e
        (lambda d: d.update(publisher="did:web:evil.example"), "unsupported DID"),
        (lambda d: d.update(created="yesterday"), "created"),
        (lambda d: d["weights"]["files"][0].update(path="../x"), "'\\.\\.'"),
        (lambda d: d["weights"]["files"][0].update(path="/abs"), "absolute"),
        (lambda d: d["weights"]["files"].reverse(), "sorted"),
        (lambda d: d["weights"]["files"][0].update(size=True), "size"),
        (lambda d: d.update(lineage=[]), "lineage"),
        (lambda d: d.update(lineage=[{"relation": "stolen", "of": "a" * 64}]), "relation"),
    ],
)
def test_malformed_documents_refused(doc: dict[str, Any], mutate: Any, match: str) -> None:
    mutate(doc)
    with pytest.raises(errors.ManifestInvalid, match=match):
        Manifest.from_dict(doc)


def test_not_json_refused() -> None:
    with pytest.raises(errors.ManifestInvalid, match="not valid JSON"):
        Manifest.from_json("{not json")
    with pytest.raises(errors.ManifestInvalid, match="JSON object"):
        Manifest.from_json("[]")


def test_compare_model_names_each_difference(model_dir: Path, publisher_key: Ed25519Key) -> None:
    m = Manifest.create(RELEASE, publisher_key.did, hash_model(model_dir))
    assert compare_model(m, hash_model(model_dir)) == []
    (model_dir / "config.json").write_text('{"hidden": 65}\n')
    (model_dir / "tokenizer.json").unlink()
    (model_dir / "new.bin").write_bytes(b"1")
    problems = compare_model(m, hash_model(model_dir))
    assert len(problems) == 3
    assert problems[0].startswith("content differs: config.json")
    assert problems[1:] == ["not in manifest: new.bin", "missing: tokenizer.json"]


# --- backward compatibility: every released manifest format verifies forever -------------


GOLDEN_FILES = sorted(GOLDEN.glob("manifest-v1-*.json"))


def test_golden_manifests_exist() -> None:
    assert {p.name for p in GOLDEN_FILES} >= {"manifest-v1-didkey.json", "manifest-v1-didpkh.json"}


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.name)
def test_golden_manifest_still_verifies(path: Path) -> None:
    # manifest-v1-didkey.json's signature starts with a zero byte ("z1..."): it also guards
    # against base58 codecs that drop leading zeros.
    m = Manifest.from_json(path.read_text())
    results = verify_manifest(m)
    assert results and results[0].signer == m.publisher
    expected = json.loads((GOLDEN / "digests.json").read_text())[path.name]
    assert m.digest.hex == expected


def test_regenerate_golden(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """`pytest --regen-golden -k regenerate` rewrites the golden files (only when the format changes on purpose)."""
    if not request.config.getoption("--regen-golden"):
        return
    model = tmp_path / "golden-model"
    (model / "w").mkdir(parents=True)
    (model / "w" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (model / "config.json").write_text("{}\n")
    md = hash_model(model)
    when = datetime(2026, 11, 25, tzinfo=UTC)
    digests = {}
    ed = Ed25519Key.from_seed(bytes(32))
    m1 = Manifest.create(
        ReleaseName("golden", "chat", "1.0.0"),
        ed.did,
        md,
        license="Apache-2.0",
        lineage=[("fine-tune", "golden/base/0.1")],
        filing={"jurisdiction": "CN", "number": "G-1"},
        created=when,
    )
    eth = EthereumKey(bytes([1] * 32), chain_id=1)
    m2 = Manifest.create(ReleaseName("golden", "chat", "1.0.1"), eth.did, md, created=when)
    for name, m, key in [("manifest-v1-didkey.json", m1, ed), ("manifest-v1-didpkh.json", m2, eth)]:
        signed = sign_manifest(m, key, created="2026-11-25T00:00:00Z")
        (GOLDEN / name).write_text(signed.to_json())
        digests[name] = signed.digest.hex
    (GOLDEN / "digests.json").write_text(json.dumps(digests, indent=2) + "\n")
