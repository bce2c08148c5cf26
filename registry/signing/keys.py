"""Signing keys as DIDs, and the keystore that holds them.

Two kinds of key, each named by a DID that anyone can resolve offline:

* Ed25519 as ``did:key:z6Mk...`` - multicodec ``0xed01`` + the 32-byte public key, multibase
  base58btc (W3C CCG did:key, checked against its test vectors);
* secp256k1 Ethereum accounts as ``did:pkh:eip155:<chain id>:<checksummed address>`` (CAIP-10),
  for publishers who sign with a wallet.

The :class:`Keystore` keeps one JSON file per key (mode 0600, in a 0700 folder) and refuses to
read a key file that group or others can access. Private material never appears in ``repr``,
``str``, logs or errors. This module does not sign documents: :mod:`registry.signing.proofs` does.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import multibase
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.errors import (
    InputError,
    InvalidDID,
    KeyExists,
    KeyNotFound,
    KeystoreError,
    UnsafeKeyFile,
)

ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint
ED25519_PRIV = b"\x80\x26"  # multicodec ed25519-priv (0x1300), varint
_PKH = re.compile(r"did:pkh:eip155:([1-9][0-9]{0,19}):(0x[0-9a-fA-F]{40})")
MAX_CHAIN_ID = 2**64 - 1
"""A did:pkh chain id (and a claim's ``chainId``) is 1 .. 2^64 - 1."""
DID_KEY_LENGTH = 56
"""Every Ed25519 did:key is ``did:key:z`` + 47 base58btc characters."""
PKH_FRAGMENT = "blockchainAccountId"
"""The one verification-method fragment of a did:pkh signer."""
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def b58btc_encode(data: bytes) -> str:
    """Multibase base58btc (``z...``), leading zero bytes kept as ``1`` (Bitcoin's rule).

    py-multibase 2.0.0 drops leading zero bytes (multiformats/py-multibase#11), which would
    corrupt one Ed25519 signature in 256; the zeros are handled here, the rest by py-multibase.
    """
    zeros = len(data) - len(data.lstrip(b"\x00"))
    rest = data[zeros:]
    body = multibase.encode("base58btc", rest).decode()[1:] if rest else ""
    return "z" + "1" * zeros + body


def b58btc_decode(text: str) -> bytes:
    """Inverse of :func:`b58btc_encode`; raises :class:`InvalidDID` on anything else."""
    if not text.startswith("z"):
        raise InvalidDID(f"expected a base58btc multibase value starting with 'z': {text!r}")
    body = text[1:]
    ones = len(body) - len(body.lstrip("1"))
    try:
        rest = bytes(multibase.decode("z" + body[ones:])) if body[ones:] else b""
    except Exception:
        raise InvalidDID(f"not valid base58btc: {text!r}") from None
    return b"\x00" * ones + rest


_b58 = b58btc_encode
_unb58 = b58btc_decode


# --- public keys ---------------------------------------------------------------------------


def did_key_from_public(public: bytes) -> str:
    """``did:key`` of a raw 32-byte Ed25519 public key."""
    if len(public) != 32:
        raise InvalidDID(f"an Ed25519 public key has 32 bytes, got {len(public)}")
    return "did:key:" + _b58(ED25519_PUB + public)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """Decode ``z6Mk...`` (multicodec ed25519-pub) into a key object."""
    raw = _unb58(value)
    if raw[:2] != ED25519_PUB or len(raw) != 34:
        raise InvalidDID(f"not a multicodec Ed25519 public key: {value!r}")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def public_key_from_did_key(did: str) -> Ed25519PublicKey:
    """Resolve a ``did:key:z6Mk...`` (canonical, no fragment) offline."""
    return public_key_from_multibase(check_did_key(did)[len("did:key:") :])


def check_did_key(did: str) -> str:
    """``did`` if it is an Ed25519 ``did:key`` in its one spelling: ``did:key:`` + the base58btc of
    ``0xed01`` + 32 bytes, exactly as :func:`did_key_from_public` writes it. No fragment, no other
    multicodec, no other encoding of the same key."""
    if not isinstance(did, str) or not did.startswith("did:key:"):
        raise InvalidDID(f"not a did:key: {did!r}")
    ident = did[len("did:key:") :]
    try:
        raw = _unb58(ident)
    except InvalidDID:
        raise InvalidDID(f"not a did:key (not base58btc): {did!r}") from None
    if len(raw) != 34 or raw[:2] != ED25519_PUB:
        raise InvalidDID(f"not an Ed25519 did:key (multicodec 0xed01 + 32 bytes): {did!r}")
    if "did:key:" + _b58(raw) != did:
        raise InvalidDID(f"not the canonical spelling of a did:key: {did!r}")
    return did


@dataclass(frozen=True, slots=True)
class PkhDID:
    """A parsed ``did:pkh:eip155:<chain>:<address>``: chain id 1 .. 2^64 - 1 in decimal without
    leading zeros, the address in its EIP-55 checksummed spelling (any other case is refused, so
    one account has one DID and one on-chain signer key)."""

    chain_id: int
    address: str  # EIP-55 checksummed

    @classmethod
    def parse(cls, did: str) -> PkhDID:
        m = _PKH.fullmatch(did) if isinstance(did, str) else None
        if not m or int(m.group(1)) > MAX_CHAIN_ID:
            raise InvalidDID(f"not a did:pkh:eip155 DID: {did!r}")
        from eth_utils.address import to_checksum_address

        address = to_checksum_address(m.group(2))
        if address != m.group(2):
            raise InvalidDID(
                f"did:pkh address is not EIP-55 checksummed: {did!r}",
                hint=f"write the address as {address}",
            )
        return cls(int(m.group(1)), address)

    def __str__(self) -> str:
        return f"did:pkh:eip155:{self.chain_id}:{self.address}"


def check_did(did: str) -> str:
    """``did`` if it is a DID modelseal accepts, in its one canonical spelling (``docs/formats.md``
    §3.4): an Ed25519 ``did:key`` or an EIP-55 ``did:pkh:eip155``. The registry contract applies
    the same rule (``InvalidName`` kind 4), so a key has exactly one on-chain identity."""
    did_method(did)
    return did


def did_method(did: str) -> Literal["key", "pkh"]:
    if isinstance(did, str) and did.startswith("did:key:"):
        check_did_key(did)
        return "key"
    if isinstance(did, str) and did.startswith("did:pkh:"):
        PkhDID.parse(did)
        return "pkh"
    raise InvalidDID(f"unsupported DID {did!r}")


def split_verification_method(vm: object) -> tuple[str, Literal["key", "pkh"]]:
    """The signer DID of a proof's ``verificationMethod``, which has one form per method:
    ``did:key:<mb>#<mb>`` (the fragment repeats the key) or ``did:pkh:...#blockchainAccountId``."""
    if not isinstance(vm, str) or vm.count("#") != 1:
        raise InvalidDID(f"verificationMethod is not DID#fragment: {vm!r}")
    did, _, fragment = vm.partition("#")
    method = did_method(did)
    expected = did[len("did:key:") :] if method == "key" else PKH_FRAGMENT
    if fragment != expected:
        raise InvalidDID(f"verificationMethod fragment must be #{expected}: {vm!r}")
    return did, method


# --- private keys --------------------------------------------------------------------------


class Ed25519Key:
    """An Ed25519 signing key. Its DID is ``did:key``; its secret never leaves this object."""

    kind: Literal["ed25519"] = "ed25519"

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key_multibase = _b58(ED25519_PUB + raw)
        self.did = "did:key:" + self.public_key_multibase

    @classmethod
    def generate(cls) -> Ed25519Key:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Key:
        if len(seed) != 32:
            raise InputError(f"an Ed25519 seed has 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_private_multibase(cls, value: str) -> Ed25519Key:
        raw = _unb58(value)
        if raw[:2] != ED25519_PRIV or len(raw) != 34:
            raise KeystoreError("not a multicodec Ed25519 private key")
        return cls.from_seed(raw[2:])

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.public_key_multibase}"

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def _private_multibase(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return _b58(ED25519_PRIV + seed)

    def __repr__(self) -> str:
        return f"Ed25519Key({self.did})"


class EthereumKey:
    """A secp256k1 Ethereum account key, named ``did:pkh:eip155:<chain>:<address>``."""

    kind: Literal["ethereum"] = "ethereum"

    def __init__(self, private_key: bytes, chain_id: int = 1) -> None:
        from eth_account import Account

        self._account = Account.from_key(private_key)
        self.chain_id = chain_id
        self.address: str = self._account.address
        self.did = f"did:pkh:eip155:{chain_id}:{self.address}"

    @classmethod
    def generate(cls, chain_id: int = 1) -> EthereumKey:
        return cls(os.urandom(32), chain_id)

    @property
    def verification_method(self) -> str:
        return f"{self.did}#blockchainAccountId"

    def sign_typed_data(self, full_message: dict[str, Any]) -> bytes:
        signed = self._account.sign_typed_data(full_message=full_message)
        return bytes(signed.signature)

    def _private_hex(self) -> str:
        return "0x" + bytes(self._account.key).hex()

    def __repr__(self) -> str:
        return f"EthereumKey({self.did})"


SigningKey = Ed25519Key | EthereumKey


def verify_ed25519(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True


# --- keystore ------------------------------------------------------------------------------


def default_keystore_dir() -> Path:
    env = os.environ.get("MODELSEAL_KEYS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelseal" / "keys"


PassphraseFn = Callable[[str], str]
"""Asked for a key's passphrase with a prompt naming the key; returns it (or raises)."""
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def seal(secret: bytes, did: str, passphrase: str) -> dict[str, object]:
    """A private key encrypted at rest: scrypt (N=2^15, r=8, p=1) derives a 256-bit key from the
    passphrase and a random salt; AES-256-GCM encrypts the secret with the DID as associated data
    (a sealed key cannot be passed off as another DID's)."""

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt, nonce = os.urandom(16), os.urandom(12)
    key = Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())
    sealed = AESGCM(key).encrypt(nonce, secret, did.encode())
    return {"kdf": "scrypt", **_SCRYPT, "salt": _b64(salt), "cipher": "aes-256-gcm", "nonce": _b64(nonce),
            "ciphertext": _b64(sealed)}  # fmt: skip


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def unseal(sealed: dict[str, object], did: str, passphrase: str) -> bytes:
    """Inverse of :func:`seal`; a wrong passphrase (or a changed file) is a :class:`KeystoreError`."""
    import base64

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    if sealed.get("kdf") != "scrypt" or sealed.get("cipher") != "aes-256-gcm":
        raise KeystoreError("the key file is sealed with an unknown method")
    params = {k: sealed.get(k) for k in _SCRYPT}
    if params != _SCRYPT:  # fixed parameters: a file cannot ask for a cost that hangs the reader
        raise KeystoreError("the key file asks for unexpected scrypt parameters")
    salt, nonce, data = (base64.b64decode(str(sealed[k])) for k in ("salt", "nonce", "ciphertext"))
    key = Scrypt(salt=salt, length=32, **_SCRYPT).derive(passphrase.encode())
    try:
        return AESGCM(key).decrypt(nonce, data, did.encode())
    except InvalidTag:
        raise KeystoreError(
            "wrong passphrase for this key (or the key file was changed)",
            hint="try again, or check MODELSEAL_PASSPHRASE",
        ) from None


class Keystore:
    """One JSON file per key in a private folder. Names are ``[A-Za-z0-9._-]``. A key may be
    sealed with a passphrase (:func:`seal`); ``passphrase`` asks for it when one is loaded."""

    def __init__(self, root: Path | None = None, *, passphrase: PassphraseFn | None = None) -> None:
        self.root = Path(root) if root is not None else default_keystore_dir()
        self.passphrase = passphrase

    def _path(self, name: str) -> Path:
        if not _KEY_NAME.fullmatch(name):
            raise KeystoreError(
                f"invalid key name {name!r}",
                hint="key names are 1-64 characters of letters, digits, '.', '_' or '-'",
            )
        return self.root / f"{name}.json"

    def save(self, name: str, key: SigningKey, *, overwrite: bool = False, passphrase: str | None = None) -> Path:
        """Write ``key`` (sealed with ``passphrase`` when one is given) as ``name``."""
        path = self._path(name)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        if path.exists() and not overwrite:
            raise KeyExists(f"a key named {name!r} already exists at {path}")
        record: dict[str, object]
        if isinstance(key, Ed25519Key):
            record = {"type": "ed25519", "did": key.did, "privateKeyMultibase": key._private_multibase()}
            field_name = "privateKeyMultibase"
        else:
            record = {"type": "ethereum", "did": key.did, "privateKey": key._private_hex()}
            field_name = "privateKey"
        if passphrase is not None:
            secret = str(record.pop(field_name)).encode()
            record["sealed"] = {"field": field_name, **seal(secret, key.did, passphrase)}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    def load(self, name_or_path: str) -> SigningKey:
        """Load a key by keystore name, or from a key file path (anything with a '/' or '.json')."""
        is_path = "/" in name_or_path or name_or_path.endswith(".json")
        path = Path(name_or_path) if is_path else self._path(name_or_path)
        return load_key_file(path, passphrase=self.passphrase)

    def list(self) -> list[tuple[str, str]]:
        """``(name, did)`` for every readable key; unsafe files are listed as such."""
        if not self.root.is_dir():
            return []
        out = []
        for p in sorted(self.root.glob("*.json")):
            try:
                out.append((p.stem, listed_did(p)))
            except KeystoreError as exc:
                out.append((p.stem, f"<{exc.message}>"))
        return out


def _key_record(path: Path) -> Any:
    """A key file's JSON record: the file must exist, be private (mode 0600) and small."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyNotFound(f"no key at {path}") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise UnsafeKeyFile(
            f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); refusing to use it"
        )
    from registry import jsontext
    from registry.files import read_limited

    return jsontext.loads(
        read_limited(path, 64 * 1024, what="key file", error=KeystoreError), what="key file", error=KeystoreError
    )


def listed_did(path: Path) -> str:
    """The DID a key file holds, for a listing: a sealed key is not opened (no passphrase asked),
    its recorded DID is shown as sealed."""
    record = _key_record(path)
    if isinstance(record, dict) and "sealed" in record:
        return f"{record.get('did')} (sealed)"
    return load_key_file(path).did


def load_key_file(path: Path, *, passphrase: PassphraseFn | None = None) -> SigningKey:
    """The key in a key file (mode 0600 only). A sealed key asks ``passphrase`` for its passphrase."""
    record = _key_record(path)
    try:
        kind = record["type"]
        if "sealed" in record:
            if passphrase is None:
                raise KeystoreError(
                    f"key file {path} is sealed with a passphrase",
                    hint="set MODELSEAL_PASSPHRASE, or run the command on a terminal to be asked",
                )
            sealed = record["sealed"]
            if sealed.get("field") not in ("privateKeyMultibase", "privateKey"):
                raise KeystoreError(f"key file {path} is sealed in an unknown layout")
            record[sealed["field"]] = unseal(
                sealed, str(record["did"]), passphrase(f"passphrase for {path.stem}: ")
            ).decode()
        if kind == "ed25519":
            key: SigningKey = Ed25519Key.from_private_multibase(record["privateKeyMultibase"])
        elif kind == "ethereum":
            did = PkhDID.parse(record["did"])
            key = EthereumKey(bytes.fromhex(record["privateKey"].removeprefix("0x")), did.chain_id)
        else:
            raise KeystoreError(f"key file {path} has unknown type {kind!r}")
    except KeystoreError:
        raise
    except (ValueError, KeyError, TypeError, InvalidDID, InputError):
        raise KeystoreError(f"key file {path} is damaged or not a modelseal key") from None
    if record.get("did") != key.did:
        raise KeystoreError(f"key file {path} names {record.get('did')!r} but holds the key of {key.did}")
    return key
