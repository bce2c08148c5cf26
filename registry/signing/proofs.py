"""Signing and verifying documents: W3C Data Integrity proofs and EIP-712 wallet proofs.

Two proof kinds, both kept in a document's ``proof`` set (several signers on one manifest, each
signing the document without ``proof``):

* ``DataIntegrityProof`` with cryptosuite ``eddsa-jcs-2022`` (W3C vc-di-eddsa): the signature is
  Ed25519 over ``sha256(JCS(proof options)) || sha256(JCS(document))``; ``proofValue`` is
  multibase base58btc. Passes the W3C test vector byte for byte.
* ``EthereumEip712Signature2021`` for ``did:pkh:eip155`` keys: an EIP-712 signature over the
  manifest digest and the release name (typed data below), so a publisher can sign with a wallet.

:func:`verify_proof` raises on the first problem (fail closed); :func:`verify_manifest` checks
every proof and that the publisher signed. Which signers are *authorised* is the chain's
business (:mod:`registry.chain.client`), not this module's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.errors import InputError, InvalidDID, ProofInvalid, UnknownCryptosuite, Unsigned, WrongKey
from registry.signing.keys import (
    PKH_FRAGMENT,
    Ed25519Key,
    EthereumKey,
    PkhDID,
    SigningKey,
    b58btc_decode,
    b58btc_encode,
    public_key_from_did_key,
    split_verification_method,
    verify_ed25519,
)
from registry.signing.manifest import Manifest

DATA_INTEGRITY = "DataIntegrityProof"
EDDSA_JCS = "eddsa-jcs-2022"
EIP712_PROOF = "EthereumEip712Signature2021"
PURPOSE = "assertionMethod"
EDDSA_MEMBERS = frozenset(("type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"))
EIP712_MEMBERS = frozenset(("type", "created", "verificationMethod", "proofPurpose", "proofValue", "eip712"))
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SIGNATURE_HEX = re.compile(r"0x[0-9a-f]{130}")

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "ModelRelease": [
        {"name": "release", "type": "string"},
        {"name": "manifestDigest", "type": "bytes32"},
        {"name": "created", "type": "string"},
    ],
}

ResolveKey = Callable[[str], Ed25519PublicKey]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_proof(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


# --- eddsa-jcs-2022 ------------------------------------------------------------------------


def _eddsa_jcs_hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    """The 64 bytes eddsa-jcs-2022 signs: hash of the proof options, then of the document."""
    options = {k: v for k, v in proof_options.items() if k != "proofValue"}
    if "@context" in document:
        options["@context"] = document["@context"]
    return (
        hashlib.sha256(rfc8785.dumps(options)).digest()
        + hashlib.sha256(rfc8785.dumps(_without_proof(document))).digest()
    )


def create_eddsa_jcs_proof(
    document: dict[str, Any],
    key: Ed25519Key,
    *,
    created: str | None = None,
    verification_method: str | None = None,
    purpose: str = PURPOSE,
) -> dict[str, Any]:
    """A ``DataIntegrityProof``/``eddsa-jcs-2022`` over ``document`` (its ``proof`` ignored)."""
    options: dict[str, Any] = {
        "type": DATA_INTEGRITY,
        "cryptosuite": EDDSA_JCS,
        "created": created or _now(),
        "verificationMethod": verification_method or key.verification_method,
        "proofPurpose": purpose,
    }
    if "@context" in document:
        options["@context"] = document["@context"]
    signature = key.sign(_eddsa_jcs_hash_data(document, options))
    return {**options, "proofValue": b58btc_encode(signature)}


def _resolve_did_key(verification_method: str) -> Ed25519PublicKey:
    did, method = split_verification_method(verification_method)
    if method != "key":
        raise InvalidDID(f"an eddsa-jcs-2022 proof is made by a did:key, not {did!r}")
    return public_key_from_did_key(did)


def _check_members(proof: dict[str, Any], members: frozenset[str], what: str) -> None:
    """A proof is a closed object: exactly ``members`` (an unknown one, such as an ``expires`` a
    reader would ignore, is refused: two readers must never disagree on what a proof says)."""
    if not isinstance(proof, dict):
        raise ProofInvalid(f"{what} proof is not a JSON object")
    missing, extra = sorted(members - proof.keys()), sorted(proof.keys() - members)
    if missing or extra:
        said = "; ".join(
            part
            for part in (
                f"lacks {', '.join(missing)}" if missing else "",
                f"has unknown member(s) {', '.join(extra)}" if extra else "",
            )
            if part
        )
        raise ProofInvalid(f"{what} proof {said}", hint="the proof formats are closed: docs/formats.md §3")
    created = proof["created"]
    if not isinstance(created, str) or not _TIMESTAMP.fullmatch(created) or not _valid_time(created):
        raise ProofInvalid(f"{what} proof's created is not a UTC time like 2026-01-31T12:00:00Z")
    if proof["proofPurpose"] != PURPOSE:
        raise ProofInvalid(f"proof purpose {proof['proofPurpose']!r} is not {PURPOSE!r}")


def _valid_time(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def verify_eddsa_jcs_proof(
    document: dict[str, Any], proof: dict[str, Any], *, resolve: ResolveKey = _resolve_did_key
) -> str:
    """Check one eddsa-jcs-2022 proof; return its verification method. Raises on any problem.

    The proof holds exactly ``type``, ``cryptosuite``, ``created``, ``verificationMethod``
    (``did:key:<mb>#<mb>``), ``proofPurpose`` and ``proofValue`` (the canonical base58btc of 64
    bytes), plus ``@context`` exactly when the document has one."""
    members = EDDSA_MEMBERS | ({"@context"} if "@context" in document else set())
    _check_members(proof, frozenset(members), EDDSA_JCS)
    if proof["type"] != DATA_INTEGRITY or proof["cryptosuite"] != EDDSA_JCS:
        raise UnknownCryptosuite(f"not a {DATA_INTEGRITY}/{EDDSA_JCS} proof")
    vm, value = proof["verificationMethod"], proof["proofValue"]
    if not isinstance(vm, str) or not isinstance(value, str):
        raise ProofInvalid("verificationMethod and proofValue must be strings")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise ProofInvalid("proof @context differs from the document's @context")
    if not value.startswith("z"):
        raise ProofInvalid("proofValue is not multibase base58btc")
    try:
        signature = b58btc_decode(value)
    except InvalidDID:
        raise ProofInvalid("proofValue is not valid base58btc") from None
    if len(signature) != 64:
        raise ProofInvalid(f"an Ed25519 signature has 64 bytes, got {len(signature)}")
    if b58btc_encode(signature) != value:
        raise ProofInvalid("proofValue is not in canonical base58btc")
    try:
        public = resolve(vm)
    except InvalidDID as exc:
        raise ProofInvalid(f"bad verificationMethod: {exc.message}") from None
    if not verify_ed25519(public, signature, _eddsa_jcs_hash_data(document, proof)):
        raise ProofInvalid(
            f"signature by {vm.partition('#')[0]} does not verify over this document",
            hint="the document was changed after signing, or it was signed by another key",
        )
    return vm


# --- EIP-712 (did:pkh) ---------------------------------------------------------------------


def eip712_message(manifest: Manifest, chain_id: int, created: str) -> dict[str, Any]:
    """The EIP-712 typed data a wallet signs for a manifest."""
    return {
        "types": EIP712_TYPES,
        "primaryType": "ModelRelease",
        "domain": {"name": "modelseal", "version": "1", "chainId": chain_id},
        "message": {
            "release": str(manifest.release_name),
            "manifestDigest": "0x" + manifest.digest.hex,
            "created": created,
        },
    }


def create_eip712_proof(manifest: Manifest, key: EthereumKey, *, created: str | None = None) -> dict[str, Any]:
    when = created or _now()
    signature = key.sign_typed_data(eip712_message(manifest, key.chain_id, when))
    return {
        "type": EIP712_PROOF,
        "created": when,
        "verificationMethod": key.verification_method,
        "proofPurpose": PURPOSE,
        "proofValue": "0x" + signature.hex(),
        "eip712": _eip712_member(key.chain_id),
    }


def verify_eip712_proof(manifest: Manifest, proof: dict[str, Any]) -> str:
    """Check one ``EthereumEip712Signature2021`` proof; return its verification method.

    The proof holds exactly ``type``, ``created``, ``verificationMethod``
    (``did:pkh:...#blockchainAccountId``), ``proofPurpose``, ``proofValue`` (``0x`` + 130
    lowercase hex: ``r || s || v`` with ``v`` 27 or 28 and ``s`` in the lower half of the curve
    order, so each signature has one spelling) and ``eip712`` exactly as modelseal writes it."""
    _check_members(proof, EIP712_MEMBERS, EIP712_PROOF)
    vm, value, created = proof["verificationMethod"], proof["proofValue"], proof["created"]
    if proof["type"] != EIP712_PROOF:
        raise UnknownCryptosuite(f"not an {EIP712_PROOF} proof")
    try:
        did_text, method = split_verification_method(vm)
    except InvalidDID as exc:
        raise ProofInvalid(f"bad verificationMethod: {exc.message}") from None
    if method != "pkh":
        raise ProofInvalid(f"an {EIP712_PROOF} proof is made by a did:pkh, not {did_text!r}")
    did = PkhDID.parse(did_text)
    if proof["eip712"] != _eip712_member(did.chain_id):
        raise ProofInvalid("the proof's eip712 member is not the one for its DID's chain")
    if not isinstance(value, str) or not _SIGNATURE_HEX.fullmatch(value):
        raise ProofInvalid("EIP-712 proofValue is not 0x + 65 bytes in lowercase hex")
    signature = bytes.fromhex(value[2:])
    r, s, v = int.from_bytes(signature[:32]), int.from_bytes(signature[32:64]), signature[64]
    if v not in (27, 28):
        raise ProofInvalid(f"EIP-712 signature v is {v}, not 27 or 28")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        raise ProofInvalid("EIP-712 signature is malleable or out of range (s must be in the lower half)")
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        signable = encode_typed_data(full_message=eip712_message(manifest, did.chain_id, created))
        signer = Account.recover_message(signable, signature=signature)
    except Exception:
        raise ProofInvalid("EIP-712 signature is malformed") from None
    if signer != did.address:
        raise ProofInvalid(
            f"EIP-712 signature recovers to {signer}, not {did.address}",
            hint="the manifest was changed after signing, or it was signed by another account",
        )
    return f"{did}#{PKH_FRAGMENT}"


def _eip712_member(chain_id: int) -> dict[str, Any]:
    return {"primaryType": "ModelRelease", "domain": {"name": "modelseal", "version": "1", "chainId": chain_id}}


# --- manifests -----------------------------------------------------------------------------


def signer_did(proof: dict[str, Any]) -> str:
    """The DID a proof names as its signer (checked: one canonical spelling per key)."""
    try:
        return split_verification_method(proof.get("verificationMethod"))[0]
    except InvalidDID as exc:
        raise ProofInvalid(f"bad verificationMethod: {exc.message}") from None


def sign_manifest(manifest: Manifest, key: SigningKey, *, created: str | None = None) -> Manifest:
    """Add ``key``'s proof to the manifest's proof set."""
    if isinstance(key, Ed25519Key):
        proof = create_eddsa_jcs_proof(manifest.unsigned_document(), key, created=created)
    else:
        proof = create_eip712_proof(manifest, key, created=created)
    if any(signer_did(p) == key.did for p in manifest.proof or []):
        raise InputError(f"{key.did} has already signed this manifest", hint="each key signs a manifest once")
    return manifest.with_proof(proof)


@dataclass(frozen=True, slots=True)
class ProofResult:
    signer: str  # DID
    kind: str  # cryptosuite or proof type
    created: str


def verify_one(manifest: Manifest, proof: dict[str, Any]) -> ProofResult:
    kind = proof.get("type") if isinstance(proof, dict) else None
    if kind == DATA_INTEGRITY:
        suite = proof.get("cryptosuite")
        if suite != EDDSA_JCS:
            raise UnknownCryptosuite(f"unknown cryptosuite {suite!r}")
        vm = verify_eddsa_jcs_proof(manifest.unsigned_document(), proof)
        return ProofResult(vm.partition("#")[0], EDDSA_JCS, str(proof["created"]))
    if kind == EIP712_PROOF:
        vm = verify_eip712_proof(manifest, proof)
        return ProofResult(vm.partition("#")[0], EIP712_PROOF, str(proof["created"]))
    raise UnknownCryptosuite(f"unknown proof type {kind!r}")


def verify_manifest(manifest: Manifest, *, expected_signer: str | None = None) -> list[ProofResult]:
    """Verify every proof (fail closed) and require the publisher's among them.

    ``expected_signer`` additionally requires a proof by that DID.
    """
    proofs = manifest.proof or []
    if not proofs:
        raise Unsigned("manifest has no proof")
    results = [verify_one(manifest, p) for p in proofs]
    signers = {r.signer for r in results}
    if len(signers) != len(results):
        raise ProofInvalid("one key signed this manifest twice", hint="a proof set holds one proof per signer")
    if manifest.publisher not in signers:
        raise WrongKey(
            f"manifest is not signed by its publisher {manifest.publisher}",
            hint="the publisher named in the manifest must sign it: `modelseal sign MANIFEST --key <publisher key>`",
        )
    if expected_signer is not None and expected_signer not in signers:
        raise WrongKey(f"manifest is not signed by {expected_signer} (signed by {', '.join(sorted(signers))})")
    return results
