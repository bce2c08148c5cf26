"""registry.signing.proofs: eddsa-jcs-2022 (W3C vector, byte for byte), EIP-712, proof sets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import VECTORS

from registry import errors
from registry.hashing.model import hash_model
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key, EthereumKey, public_key_from_multibase
from registry.signing.manifest import Manifest
from registry.signing.proofs import (
    create_eddsa_jcs_proof,
    sign_manifest,
    verify_eddsa_jcs_proof,
    verify_manifest,
)


def _vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "eddsa-jcs-2022.json").read_text())
    return data


def _vector_resolver(vm: str) -> Any:
    return public_key_from_multibase(vm.partition("#")[2])


def test_eddsa_jcs_2022_vector_signs_byte_for_byte() -> None:
    vec = _vector()
    key = Ed25519Key.from_private_multibase(vec["keyPair"]["privateKeyMultibase"])
    assert key.public_key_multibase == vec["keyPair"]["publicKeyMultibase"]
    expected = vec["signed"]["proof"]
    proof = create_eddsa_jcs_proof(
        vec["signed"], key, created=expected["created"], verification_method=expected["verificationMethod"]
    )
    assert proof == expected
    assert json.dumps(proof, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_eddsa_jcs_2022_vector_verifies() -> None:
    vec = _vector()
    vm = verify_eddsa_jcs_proof(vec["signed"], vec["signed"]["proof"], resolve=_vector_resolver)
    assert vm.endswith(vec["keyPair"]["publicKeyMultibase"])


def test_eddsa_jcs_2022_vector_tampered_fails() -> None:
    vec = _vector()
    doc = copy.deepcopy(vec["signed"])
    doc["credentialSubject"]["alumniOf"] = "Another School"
    with pytest.raises(errors.ProofInvalid):
        verify_eddsa_jcs_proof(doc, doc["proof"], resolve=_vector_resolver)
    doc = copy.deepcopy(vec["signed"])
    doc["proof"]["created"] = "2024-01-01T00:00:00Z"  # proof options are signed too
    with pytest.raises(errors.ProofInvalid):
        verify_eddsa_jcs_proof(doc, doc["proof"], resolve=_vector_resolver)


@pytest.fixture
def manifest(model_dir: Path, publisher_key: Ed25519Key) -> Manifest:
    return Manifest.create(ReleaseName("acme", "chat", "1.0.0"), publisher_key.did, hash_model(model_dir))


def test_sign_and_verify_manifest(manifest: Manifest, publisher_key: Ed25519Key) -> None:
    signed = sign_manifest(manifest, publisher_key)
    reread = Manifest.from_json(signed.to_json())
    [result] = verify_manifest(reread)
    assert result.signer == publisher_key.did and result.kind == "eddsa-jcs-2022"
    assert reread.digest == manifest.digest  # proofs do not change the manifest digest


def test_proof_set_publisher_then_endorsers(manifest: Manifest, publisher_key: Ed25519Key) -> None:
    auditor = Ed25519Key.generate()
    wallet = EthereumKey.generate(chain_id=31337)
    signed = sign_manifest(sign_manifest(sign_manifest(manifest, publisher_key), auditor), wallet)
    results = verify_manifest(Manifest.from_json(signed.to_json()), expected_signer=auditor.did)
    assert [r.signer for r in results] == [publisher_key.did, auditor.did, wallet.did]
    with pytest.raises(errors.InputError, match="already signed"):
        sign_manifest(signed, auditor)


def test_did_pkh_publisher_signs_with_eip712(model_dir: Path) -> None:
    wallet = EthereumKey.generate(chain_id=1)
    m = Manifest.create(ReleaseName("acme", "chat", "2"), wallet.did, hash_model(model_dir))
    signed = sign_manifest(m, wallet)
    [r] = verify_manifest(Manifest.from_json(signed.to_json()))
    assert r.signer == wallet.did and r.kind == "EthereumEip712Signature2021"
    assert signed.proof and signed.proof[0]["proofValue"].startswith("0x")


def test_eip712_proof_does_not_transfer_to_another_release(model_dir: Path) -> None:
    wallet = EthereumKey.generate()
    md = hash_model(model_dir)
    signed = sign_manifest(Manifest.create(ReleaseName("acme", "chat", "1"), wallet.did, md), wallet)
    other = Manifest.create(ReleaseName("acme", "chat", "2"), wallet.did, md, created=None)
    assert signed.proof is not None
    stolen = other.with_proof(signed.proof[0])
    with pytest.raises(errors.ProofInvalid, match="recovers to"):
        verify_manifest(stolen)


def test_tampered_manifest_refused(manifest: Manifest, publisher_key: Ed25519Key) -> None:
    doc = sign_manifest(manifest, publisher_key).document()
    doc["license"] = "MIT"
    with pytest.raises(errors.ProofInvalid, match="does not verify"):
        verify_manifest(Manifest.from_dict(doc))


def test_wrong_key_refused(manifest: Manifest) -> None:
    stranger = Ed25519Key.generate()
    signed = sign_manifest(manifest, stranger)
    with pytest.raises(errors.WrongKey, match="not signed by its publisher"):
        verify_manifest(signed)


def test_signature_swapped_to_another_key_refused(manifest: Manifest, publisher_key: Ed25519Key) -> None:
    signed = sign_manifest(manifest, publisher_key)
    assert signed.proof is not None
    proof = dict(signed.proof[0])
    other = Ed25519Key.generate()
    proof["verificationMethod"] = other.verification_method  # claim the signature is someone else's
    with pytest.raises(errors.ProofInvalid):
        verify_manifest(manifest.with_proof(proof))


def test_unknown_cryptosuite_refused(manifest: Manifest, publisher_key: Ed25519Key) -> None:
    signed = sign_manifest(manifest, publisher_key)
    assert signed.proof is not None
    proof = {**signed.proof[0], "cryptosuite": "ecdsa-rdfc-2019"}
    with pytest.raises(errors.UnknownCryptosuite, match="ecdsa-rdfc-2019"):
        verify_manifest(manifest.with_proof(proof))
    with pytest.raises(errors.UnknownCryptosuite, match="Ed25519Signature2018"):
        verify_manifest(manifest.with_proof({**signed.proof[0], "type": "Ed25519Signature2018"}))


def test_unsigned_manifest_refused(manifest: Manifest) -> None:
    with pytest.raises(errors.Unsigned):
        verify_manifest(manifest)
