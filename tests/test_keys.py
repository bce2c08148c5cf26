"""registry.signing.keys: did:key and did:pkh, and the keystore's safety rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import VECTORS

from registry import errors
from registry.signing.keys import (
    Ed25519Key,
    EthereumKey,
    Keystore,
    PkhDID,
    did_key_from_public,
    did_method,
    public_key_from_did_key,
)


def _did_key_vectors() -> list[dict[str, str]]:
    vectors: list[dict[str, str]] = json.loads((VECTORS / "did-key-ed25519.json").read_text())["vectors"]
    return vectors


@pytest.mark.parametrize("vector", _did_key_vectors(), ids=lambda v: v["seed"][-2:])
def test_did_key_vectors(vector: dict[str, str]) -> None:
    import multibase

    key = Ed25519Key.from_seed(bytes.fromhex(vector["seed"]))
    assert key.did == vector["did"]
    public = public_key_from_did_key(vector["did"]).public_bytes_raw()
    assert multibase.encode("base58btc", public).decode()[1:] == vector["publicKeyBase58"]
    assert did_key_from_public(public) == vector["did"]


def test_every_ed25519_did_reads_z6mk() -> None:
    for _ in range(20):
        assert Ed25519Key.generate().did.startswith("did:key:z6Mk")


@pytest.mark.parametrize(
    "did",
    [
        "did:key:",
        "did:key:abc",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",  # truncated
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1 multicodec
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6Mkother",
        "did:web:example.com",
    ],
)
def test_malformed_did_key_refused(did: str) -> None:
    with pytest.raises(errors.InvalidDID):
        public_key_from_did_key(did)


def test_did_pkh() -> None:
    key = EthereumKey.generate(chain_id=31337)
    assert key.did == f"did:pkh:eip155:31337:{key.address}"
    parsed = PkhDID.parse(key.did)
    assert parsed.address == key.address and parsed.chain_id == 31337
    assert did_method(key.did) == "pkh"
    lower = key.did[:-40] + key.address[2:].lower()
    upper = key.did[:-40] + key.address[2:].upper()
    assert lower != key.did and upper != key.did  # random addresses have both cases
    for bad in [
        "did:pkh:eip155:1:0x12",
        "did:pkh:bip122:1:0x" + "0" * 40,
        "did:pkh:eip155:0:0x" + "0" * 40,
        "did:pkh:eip155:01:0x" + "0" * 40,
        f"did:pkh:eip155:{2**64}:0x" + "0" * 40,
        lower,  # one account, one spelling: EIP-55 only
        upper,
        key.did + "#blockchainAccountId",
    ]:
        with pytest.raises(errors.InvalidDID):
            PkhDID.parse(bad)


def test_keystore_roundtrip_and_mode(keystore: Keystore) -> None:
    ed = Ed25519Key.generate()
    eth = EthereumKey.generate(chain_id=5)
    p1 = keystore.save("pub", ed)
    keystore.save("wallet", eth)
    assert p1.stat().st_mode & 0o777 == 0o600
    assert keystore.root.stat().st_mode & 0o777 == 0o700
    assert keystore.load("pub").did == ed.did
    assert keystore.load("wallet").did == eth.did
    assert keystore.load(str(p1)).did == ed.did
    assert sorted(keystore.list()) == sorted([("pub", ed.did), ("wallet", eth.did)])


def test_keystore_refuses_group_or_world_readable_keys(keystore: Keystore) -> None:
    path = keystore.save("pub", Ed25519Key.generate())
    os.chmod(path, 0o644)
    with pytest.raises(errors.UnsafeKeyFile, match="readable by others"):
        keystore.load("pub")


def test_keystore_refuses_overwrite_and_bad_names(keystore: Keystore) -> None:
    keystore.save("pub", Ed25519Key.generate())
    with pytest.raises(errors.KeyExists):
        keystore.save("pub", Ed25519Key.generate())
    keystore.save("pub", Ed25519Key.generate(), overwrite=True)
    for bad in ["../evil", "a/b", "", ".hidden"]:
        with pytest.raises(errors.KeystoreError):
            keystore.save(bad, Ed25519Key.generate())
    with pytest.raises(errors.KeyNotFound):
        keystore.load("missing")


def test_keystore_refuses_a_file_whose_did_lies(keystore: Keystore) -> None:
    path = keystore.save("pub", Ed25519Key.generate())
    record = json.loads(path.read_text())
    record["did"] = Ed25519Key.generate().did
    path.write_text(json.dumps(record))
    with pytest.raises(errors.KeystoreError, match="holds the key of"):
        keystore.load("pub")


def test_private_material_never_in_repr(keystore: Keystore, tmp_path: Path) -> None:
    ed = Ed25519Key.generate()
    eth = EthereumKey.generate()
    path = keystore.save("pub", ed)
    secret = json.loads(path.read_text())["privateKeyMultibase"]
    assert secret not in repr(ed) and secret not in str(ed)
    assert eth._private_hex()[2:] not in repr(eth)


@pytest.mark.parametrize(
    "data", [b"", b"\x00", b"\x00\x00\xff", b"\x00\x01\x02", b"\x01", bytes(64), b"\x00" + bytes(range(1, 64))]
)
def test_base58btc_keeps_leading_zero_bytes(data: bytes) -> None:
    from registry.signing.keys import b58btc_decode, b58btc_encode

    text = b58btc_encode(data)
    assert text.startswith("z" + "1" * (len(data) - len(data.lstrip(b"\x00"))))
    assert b58btc_decode(text) == data


def test_base58btc_known_values() -> None:
    from registry.signing.keys import b58btc_encode

    # Bitcoin's base58 test vectors (src/test/data/base58_encode_decode.json)
    assert (
        b58btc_encode(bytes.fromhex("00eb15231dfceb60925886b67d065299925915aeb172c06647"))
        == "z1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"
    )
    assert b58btc_encode(bytes.fromhex("00000000000000000000")) == "z1111111111"
    assert b58btc_encode(bytes.fromhex("61")) == "z2g"
