"""The ``ModelRegistry`` contract from Python: every call, typed results, reverts in words.

:class:`RegistryClient` wraps one deployed registry on any EVM JSON-RPC (anvil, a testnet, an
L2) or on the in-process py-evm chain used by unit tests. Reads return frozen dataclasses;
writes return a :class:`TxResult` (hash, block, gas, decoded events). A revert is decoded from
its 4-byte selector against the ABI in one place (:func:`decode_revert`), whichever way the
provider surfaced it (``ContractCustomError`` over HTTP, ``TransactionFailed`` on py-evm),
into a :class:`RegistryRevert` whose message says why in words.

Ids are computed by :mod:`registry.names`; the tests check the contract computes the same.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TimeExhausted

from registry.chain.artifacts import Artifact, Deployment, load_artifact
from registry.chain.events import decode_log, event_specs
from registry.chains import DEV_CHAIN_IDS
from registry.errors import ChainError, ModelsealError, RegistryRefused, RegistryRevert, UnsafeAccount
from registry.names import ReleaseName, check_reason, did_id, model_id, namespace_id
from registry.names import release_id as compute_release_id

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3.contract import Contract
    from web3.types import TxReceipt

    from registry.settings import Settings

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32
REGISTRY_VERSION = "1.3.0"
LOG_PAGE_BLOCKS = 10_000
"""Blocks per ``eth_getLogs`` (common public RPCs refuse wider ranges)."""
"""The ``ModelRegistry`` interface version this client speaks (``version()`` on chain)."""

ANVIL_DEV_KEYS = tuple(
    bytes.fromhex(k)
    for k in (
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    )
)
"""The ten accounts anvil funds from its public test mnemonic: anyone can spend from them."""


# --- errors --------------------------------------------------------------------------------


_NAME_KINDS = ("namespace", "model", "version", "endorsement kind", "DID", "origin", "revocation reason")


def _hx(value: Any) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)


def _explain(error: str, a: Mapping[str, Any], ctx: Mapping[str, str]) -> tuple[str, str | None]:
    """Words for a custom error: (message, hint). ``ctx`` holds names the caller knows."""
    ns = ctx.get("namespace") or _hx(a.get("namespaceId", ""))
    rel = ctx.get("release") or _hx(a.get("releaseId", ""))
    who = a.get("account", "")
    kind_index = int(a.get("kind", 0))
    kind = _NAME_KINDS[kind_index] if 0 <= kind_index < len(_NAME_KINDS) else "name"
    table: dict[str, tuple[str, str | None]] = {
        "InvalidName": (
            f"the registry refuses the {kind} {a.get('name')!r}",
            "a DID is an Ed25519 did:key or did:pkh:eip155:<chain>:<EIP-55 address>, in that one spelling"
            if kind == "DID"
            else "a revocation reason is at most 256 characters of printable ASCII (letters, digits, spaces, "
            "punctuation; no line breaks)"
            if kind == "revocation reason"
            else "namespaces are [a-z0-9-] (2-64, no leading, trailing or double hyphen); models [a-z0-9._-]; "
            "versions printable ASCII without spaces; look-alike letters from other scripts are never allowed",
        ),
        "NamespaceTaken": (
            (f"you already control namespace {ns!r}", "nothing to do: add signing keys with `modelseal signer add`")
            if a.get("controller") == ctx.get("sender")
            else (
                f"namespace {ns!r} is already owned by {a.get('controller')}",
                "claim another namespace, or ask its controller to add your key as a signer",
            )
        ),
        "UnknownNamespace": (f"namespace {ns!r} is not claimed", "claim it first: modelseal namespace claim NAME"),
        "NotNamespaceController": (
            f"account {who} does not control namespace {ns!r} (its controller is {a.get('controller')})",
            "send from the controller's account (MODELSEAL_PRIVATE_KEY), or ask it to transfer the namespace",
        ),
        "NotPendingController": (
            f"account {who} has no pending transfer of namespace {ns!r} (pending: {a.get('pendingController')})",
            "the current controller must first run: modelseal namespace transfer NAME NEW_ADDRESS",
        ),
        "SignerExists": (f"{ctx.get('did', 'this key')} is already a signer of {ns!r}", None),
        "SignerRetired": (
            f"{ctx.get('did', 'this key')} was removed from {ns!r} and can never be added back",
            "generate a new key: modelseal keygen --name NEW",
        ),
        "UnknownSigner": (f"{ctx.get('did', 'this key')} is not a signer of {ns!r}", None),
        "InactiveSigner": (
            f"{ctx.get('did', 'the signing key')} is not an active signer of namespace {ns!r}",
            "add it first: modelseal signer add NAMESPACE --key NAME (a removed key cannot sign new releases)",
        ),
        "ZeroDigest": ("a release needs non-zero manifest and weights digests", None),
        "ReleaseExists": (
            f"release {rel} already exists (manifest {_hx(a.get('manifestDigest'))}); a version is never re-pointed",
            "publish a new version instead",
        ),
        "UnknownRelease": (f"release {rel} is not published", "check the name with: modelseal show NS/MODEL/VERSION"),
        "ReleaseAlreadyRevoked": (f"release {rel} is already revoked", None),
        "ExpiryNotInFuture": (
            f"expiry {a.get('expiresAt')} is not after the chain's current time {a.get('timestamp')}",
            "give --expires as a future date or a duration like 90d",
        ),
        "UnknownOperator": (f"{ctx.get('did', 'this operator')} was never authorised on that scope", None),
        "OperatorAlreadyRevoked": (f"{ctx.get('did', 'this operator')} is already revoked on that scope", None),
        "EndorsementExists": (
            f"{a.get('endorser')} already endorsed {rel} with this kind",
            "revoke it first to replace it: modelseal endorse --revoke",
        ),
        "UnknownEndorsement": (f"{a.get('endorser')} has no endorsement of this kind on {rel}", None),
        "EndorsementAlreadyRevoked": (f"that endorsement of {rel} is already revoked", None),
    }
    if error in table:
        return table[error]
    return f"the registry refused the transaction: {error}({', '.join(f'{k}={_hx(v)}' for k, v in a.items())})", None


@dataclass(frozen=True, slots=True)
class _ErrorSpec:
    name: str
    names: tuple[str, ...]
    types: tuple[str, ...]


def _error_specs(abi: list[dict[str, Any]]) -> dict[bytes, _ErrorSpec]:
    specs: dict[bytes, _ErrorSpec] = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        types = tuple(inp["type"] for inp in item["inputs"])
        selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
        specs[selector] = _ErrorSpec(item["name"], tuple(inp["name"] for inp in item["inputs"]), types)
    return specs


def _rpc_revert_data(exc: BaseException) -> bytes | None:
    """The revert data of a JSON-RPC error of code 3 ("execution reverted"), as a node answers
    ``eth_sendRawTransaction`` or ``eth_call`` (Hardhat's node reports a reverting transaction it
    has mined this way too)."""
    response = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict) or error.get("code") != 3:
        return None
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
        data = data.get("data")
    if isinstance(data, str) and re.fullmatch(r"0x(?:[0-9a-fA-F]{2})*", data):
        return bytes.fromhex(data[2:])
    return None


def _revert_bytes(exc: BaseException) -> bytes | None:
    """Revert data from whichever exception the provider raised, or None."""
    structured = _rpc_revert_data(exc)
    if structured is not None:
        return structured
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    text = str(exc)
    m = re.search(r"execution reverted: (b'.*'|b\".*\")", text, re.S)
    if m:  # eth-tester: the bytes as a Python repr
        value = ast.literal_eval(m.group(1))
        return bytes(value) if isinstance(value, bytes) else None
    m = re.search(r"(0x[0-9a-fA-F]{8,})", text)
    if m:
        return bytes.fromhex(m.group(1)[2:])
    return None


def decode_revert(
    specs: Mapping[bytes, _ErrorSpec], exc: BaseException, ctx: Mapping[str, str] | None = None
) -> ModelsealError:
    """Turn a provider's revert exception into a :class:`RegistryRevert` (or a ChainError)."""
    data = _revert_bytes(exc)
    if data is None or len(data) < 4 or data[:4] not in specs:
        return ChainError(
            f"transaction reverted without a registry error: {exc}", hint="is --registry the right address?"
        )
    spec = specs[data[:4]]
    try:
        values = abi_decode(list(spec.types), data[4:])
    except Exception:  # the node's revert data is untrusted like the rest of its answers
        return ChainError(f"the chain answered malformed revert data for {spec.name}")
    values = tuple(
        Web3.to_checksum_address(v) if t == "address" else v for t, v in zip(spec.types, values, strict=True)
    )
    args = dict(zip(spec.names, values, strict=True))
    message, hint = _explain(spec.name, args, ctx or {})
    return RegistryRevert(spec.name, args, message, hint)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    id: bytes
    controller: str
    pending_controller: str | None


@dataclass(frozen=True, slots=True)
class SignerInfo:
    did: str
    valid_from: int
    valid_until: int  # 0 = still valid

    def valid_at(self, t: int) -> bool:
        return self.valid_from != 0 and self.valid_from <= t and (self.valid_until == 0 or t < self.valid_until)


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A published release: what storage holds (manifest digest, revocation) joined with what its
    immutable ``ReleasePublished`` event carries (names, weights digest, signer, time)."""

    id: bytes
    name: ReleaseName
    manifest_digest: bytes
    weights_digest: bytes
    namespace_id: bytes
    published_at: int
    revoked_at: int
    signer_did_hash: bytes
    publisher: str
    block: int
    tx_hash: str
    revoke_reason: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0


@dataclass(frozen=True, slots=True)
class OperatorInfo:
    expires_at: int
    revoked_at: int
    origins_hash: bytes = b"\x00" * 32
    """``keccak256(abi.encode(origins))`` of the origins the authorisation is pinned to; zero: not pinned"""

    def active_at(self, t: int) -> bool:
        return self.expires_at > t and self.revoked_at == 0


@dataclass(frozen=True, slots=True)
class EndorsementInfo:
    data_digest: bytes
    time: int
    revoked_at: int


@dataclass(frozen=True, slots=True)
class TxResult:
    tx_hash: str
    block: int
    gas_used: int
    events: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)
    sender: str = ""
    """the account that sent it (commands print it: the registry judges by it)"""

    def event(self, name: str) -> dict[str, Any]:
        for n, args in self.events:
            if n == name:
                return args
        raise KeyError(name)


# --- the client ----------------------------------------------------------------------------


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlparse

    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def account_from_key(private_key: str | bytes, chain_id: int) -> LocalAccount:
    """A sending account; anvil's public dev keys are refused outside dev chains."""
    from eth_account import Account

    bad = UnsafeAccount(
        "MODELSEAL_PRIVATE_KEY is not a secp256k1 private key (64 hex digits, optionally 0x-prefixed)",
        hint="set it to the sending account's private key; the value is not shown here",
    )
    try:
        raw = bytes.fromhex(private_key.strip().removeprefix("0x")) if isinstance(private_key, str) else private_key
    except ValueError:
        raise bad from None
    if len(raw) != 32:
        raise bad
    if raw in ANVIL_DEV_KEYS and chain_id not in DEV_CHAIN_IDS:
        raise UnsafeAccount(f"refusing a well-known anvil dev key on chain {chain_id}, which is not a dev chain")
    try:
        acct: LocalAccount = Account.from_key(raw)
    except (ValueError, TypeError):  # zero, or not below the curve order
        raise bad from None
    return acct


class RegistryClient:
    """One deployed ``ModelRegistry``. Writes need ``account`` (a local signing account)."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        *,
        account: LocalAccount | None = None,
        abi: list[dict[str, Any]] | None = None,
        deploy_block: int = 0,
        confirm_timeout: float = 120.0,
    ) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.abi = abi if abi is not None else load_artifact().abi
        self.contract: Contract = w3.eth.contract(address=self.address, abi=self.abi, decode_tuples=True)
        self.account = account
        self.deploy_block = deploy_block
        self.confirm_timeout = confirm_timeout
        self._errors = _error_specs(self.abi)
        self._event_specs = event_specs(self.abi)
        self.log_page_blocks = LOG_PAGE_BLOCKS
        self._chain_id: int | None = None

    # --- construction ---

    @classmethod
    def deploy(
        cls, w3: Web3, account: LocalAccount, *, artifact: Artifact | None = None
    ) -> tuple[RegistryClient, Deployment]:
        art = artifact or load_artifact()
        factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        chain_id = w3.eth.chain_id
        tx = factory.constructor().build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise ChainError("deploying ModelRegistry failed", hint="is the account funded?")
        client = cls(w3, receipt["contractAddress"], account=account, abi=art.abi, deploy_block=receipt["blockNumber"])
        deployment = Deployment(chain_id, client.address, receipt["blockNumber"], tx_hash.to_0x_hex(), client.version())
        return client, deployment

    @classmethod
    def from_settings(cls, settings: Settings, *, w3: Web3 | None = None) -> RegistryClient:
        """The registry the settings point at, connected through
        :func:`registry.chain.connect.connect` (the CLI applies its options to the settings first).

        Without ``MODELSEAL_PRIVATE_KEY``, anvil's first account sends - only on the local dev chain.
        """
        from registry.chain.connect import connect

        conn = connect(settings, w3=w3)
        key: str | bytes | None = settings.private_key.get_secret_value() if settings.private_key is not None else None
        if isinstance(key, str) and not key.strip():  # set but empty: never fall back to a dev account
            raise UnsafeAccount(
                "MODELSEAL_PRIVATE_KEY is set but empty",
                hint="set it to your account's key, or unset it (on the local dev chain, anvil's first account sends)",
            )
        if key is None and conn.chain_id in DEV_CHAIN_IDS and _is_loopback(conn.rpc_url):
            key = ANVIL_DEV_KEYS[0]
        account = account_from_key(key, conn.chain_id) if key is not None else None
        client = cls(conn.w3, conn.address, account=account, deploy_block=conn.deploy_block)
        client._chain_id = conn.chain_id
        client.check_version()
        return client

    def check_version(self) -> None:
        """Refuse a registry of another interface version (its calls and events would not decode)."""
        try:
            found = self.version()
        except ModelsealError:
            found = "unknown"
        if found != REGISTRY_VERSION:
            raise ChainError(
                f"the registry at {self.address} is version {found}; this modelseal speaks {REGISTRY_VERSION}",
                hint="on the dev chain, `modelseal chain up` deploys the current one; elsewhere, point "
                "--registry at a current deployment",
            )

    # --- plumbing ---

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def now(self) -> int:
        """The latest block's timestamp: the chain's idea of now."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _call(self, fn: Callable[[], Any], ctx: Mapping[str, str] | None = None) -> Any:
        try:
            return fn()
        except (ContractCustomError, ContractLogicError) as exc:
            raise decode_revert(self._errors, exc, ctx) from None
        except Exception as exc:
            if type(exc).__name__ == "TransactionFailed" or _rpc_revert_data(exc) is not None:  # eth-tester, code 3
                raise decode_revert(self._errors, exc, ctx) from None
            if isinstance(exc, ModelsealError):
                raise
            raise ChainError(f"chain call failed: {type(exc).__name__}: {exc}") from None

    def _transact(
        self, fn_name: str, *args: Any, ctx: Mapping[str, str] | None = None, gas: int | None = None
    ) -> TxResult:
        if self.account is None:
            raise UnsafeAccount(
                "no sending account configured",
                hint="set MODELSEAL_PRIVATE_KEY (on the dev chain, `modelseal chain up` prints one to use)",
            )
        sender = self.account.address
        ctx = {**(ctx or {}), "sender": sender}  # lets a refusal say "you" when it is about the sender
        func = getattr(self.contract.functions, fn_name)(*args)
        if gas is None:  # estimation simulates the call: a revert surfaces here with its reason
            gas = int(self._call(lambda: func.estimate_gas({"from": sender}), ctx) * 1.25) + 10_000
        tx = self._call(
            lambda: func.build_transaction(
                {
                    "from": sender,
                    "gas": gas,
                    "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                    "chainId": self.chain_id,
                }
            ),
            ctx,
        )
        signed = self.account.sign_transaction(tx)
        sent = "0x" + bytes(signed.hash).hex()
        lost = "run the same command again: it finishes the job, or says it is already done"
        try:
            tx_hash = self._call(lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction), ctx)
        except RegistryRefused:
            raise
        except ChainError as exc:  # it may have reached the chain before the connection failed
            raise ChainError(f"transaction {sent} may not have been sent: {exc.message}", hint=lost) from None
        try:
            receipt: TxReceipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.confirm_timeout)
        except TimeExhausted:
            raise ChainError(
                f"transaction {tx_hash.to_0x_hex()} not mined within {self.confirm_timeout:.0f} s", hint=lost
            ) from None
        except Exception as exc:
            raise ChainError(
                f"transaction {sent} was sent, then the chain stopped answering ({type(exc).__name__})", hint=lost
            ) from None
        if receipt["status"] != 1:
            # replay at the mined block to learn why (with explicit gas, a revert is mined, not raised)
            self._call(lambda: func.call({"from": sender}, block_identifier=receipt["blockNumber"] - 1), ctx)
            raise ChainError(f"transaction {tx_hash.to_0x_hex()} reverted", hint="out of gas?")
        events: list[tuple[str, dict[str, Any]]] = []
        for ev in self.contract.all_events():
            for log in ev.process_receipt(receipt, errors=_discard()):
                events.append((log["event"], dict(log["args"])))
        return TxResult(
            tx_hash.to_0x_hex(), int(receipt["blockNumber"]), int(receipt["gasUsed"]), tuple(events), sender
        )

    # --- namespaces ---

    def claim_namespace(self, name: str) -> TxResult:
        """Claim a namespace. Names are judged by the contract (the CLI shows its reason)."""
        return self._transact("claimNamespace", name, ctx={"namespace": name})

    def transfer_namespace(self, name: str, new_controller: str) -> TxResult:
        if not Web3.is_address(new_controller):
            raise ChainError(f"{new_controller!r} is not an address", hint="give the new controller as 0x...")
        return self._transact(
            "transferNamespace", namespace_id(name), Web3.to_checksum_address(new_controller), ctx={"namespace": name}
        )

    def accept_namespace(self, name: str) -> TxResult:
        return self._transact("acceptNamespace", namespace_id(name), ctx={"namespace": name})

    def namespace(self, name: str) -> NamespaceInfo | None:
        info = self._call(lambda: self.contract.functions.namespaceInfo(namespace_id(name)).call())
        if info.controller == ZERO_ADDRESS:
            return None
        pending = info.pendingController if info.pendingController != ZERO_ADDRESS else None
        return NamespaceInfo(name, namespace_id(name), info.controller, pending)

    # --- signers ---

    def add_signer(self, namespace: str, did: str) -> TxResult:
        return self._transact("addSigner", namespace_id(namespace), did, ctx={"namespace": namespace, "did": did})

    def remove_signer(self, namespace: str, did: str) -> TxResult:
        return self._transact(
            "removeSigner", namespace_id(namespace), did_id(did), ctx={"namespace": namespace, "did": did}
        )

    def has_release(self, namespace: str, model: str, version: str | None = None) -> bool:
        """Whether the release (or, without ``version``, any release of the model) is published:
        lets a command warn about a grant for a name nothing was published under yet."""
        if version is not None:
            return self.release(ReleaseName(namespace, model, version)) is not None
        logs = self._logs("ReleasePublished", {"namespaceId": namespace_id(namespace)})
        return any(str(log["args"]["model"]) == model for log in logs)

    def standing_grants(self, namespace: str) -> tuple[list[str], list[str]]:
        """What a namespace's signers and operators are now, from its events and checked against
        storage: the signing keys not removed, and the operator grants (``scope: did``) neither
        revoked nor expired by chain time. A transfer keeps them all (registry 1.3), so the new
        controller reviews this list."""
        ns_id = namespace_id(namespace)
        signers: list[str] = []
        for log in self._logs("SignerAdded", {"namespaceId": ns_id}):
            did = str(log["args"]["did"])
            if did not in signers and self.signer(namespace, did).valid_until == 0:
                signers.append(did)
        now = self.now()
        grants: list[str] = []
        for log in self._logs("OperatorAuthorized", {"namespaceId": ns_id}):
            a = log["args"]
            version = str(a["version"]) or None
            try:
                op = self.operator(namespace, str(a["model"]), version, str(a["operatorDid"]))
            except ModelsealError:
                continue
            scope = f"{namespace}/{a['model']}" + (f"/{version}" if version else "")
            grant = f"{scope}: {a['operatorDid']}"
            if op.revoked_at == 0 and op.expires_at > now and grant not in grants:
                grants.append(grant)
        return signers, grants

    def signer(self, namespace: str, did: str) -> SignerInfo:
        s = self._call(lambda: self.contract.functions.signer(namespace_id(namespace), did_id(did)).call())
        return SignerInfo(did, int(s.validFrom), int(s.validUntil))

    def is_signer_at(self, namespace: str, did: str, timestamp: int) -> bool:
        fn = self.contract.functions.isSignerAt(namespace_id(namespace), did_id(did), timestamp)
        return bool(self._call(lambda: fn.call()))

    # --- releases ---

    def publish(self, release: ReleaseName, manifest_digest: bytes, weights_digest: bytes, signer_did: str) -> TxResult:
        return self._transact(
            "publishRelease",
            release.namespace,
            release.model,
            release.version,
            manifest_digest,
            weights_digest,
            did_id(signer_did),
            ctx={"namespace": release.namespace, "release": str(release), "did": signer_did},
        )

    def revoke(self, release: ReleaseName, reason: str) -> TxResult:
        return self._transact(
            "revokeRelease",
            release.namespace,
            release.model,
            release.version,
            check_reason(reason),
            ctx={"namespace": release.namespace, "release": str(release)},
        )

    def release(self, release: ReleaseName) -> ReleaseInfo | None:
        return self.release_by_id(compute_release_id(release))

    def release_by_id(self, rid: bytes) -> ReleaseInfo | None:
        """The release, or None if it was never published. Fails closed if storage and the
        event log disagree."""
        r = self._call(lambda: self.contract.functions.release(rid).call())
        if bytes(r.manifestDigest) == ZERO32:
            return None
        logs = self._logs("ReleasePublished", {"releaseId": rid})
        if len(logs) != 1:
            raise ChainError(
                f"release 0x{rid.hex()} is in storage but {len(logs)} ReleasePublished events were found",
                hint="the RPC may limit log queries; use an archive RPC or the verifier service",
            )
        log = logs[0]
        args = log["args"]
        if bytes(args["manifestDigest"]) != bytes(r.manifestDigest):
            raise ChainError(f"release 0x{rid.hex()}: event and storage disagree on the manifest digest")
        reason = None
        if int(r.revokedAt):
            revoked = self._logs("ReleaseRevoked", {"releaseId": rid})
            reason = revoked[-1]["args"]["reason"] if revoked else None
        return ReleaseInfo(
            id=rid,
            name=ReleaseName(args["namespace"], args["model"], args["version"]),
            manifest_digest=bytes(r.manifestDigest),
            weights_digest=bytes(args["weightsDigest"]),
            namespace_id=bytes(args["namespaceId"]),
            published_at=int(args["publishedAt"]),
            revoked_at=int(r.revokedAt),
            signer_did_hash=bytes(args["signerDidHash"]),
            publisher=str(args["publisher"]),
            block=int(log["blockNumber"]),
            tx_hash=log["transactionHash"],
            revoke_reason=reason,
        )

    def _logs(self, event: str, filters: Mapping[str, bytes]) -> list[dict[str, Any]]:
        """Every ``event`` log whose indexed fields equal ``filters``, oldest first, decoded
        leniently (:mod:`registry.chain.events`), read in pages of :attr:`log_page_blocks` blocks
        (RPCs cap the range and the size of one ``eth_getLogs``). A log that does not decode as
        the event it names is passed over: an untrusted log never stops a read."""
        spec = next(s for s in self._event_specs.values() if s.name == event)
        topics: list[str | None] = ["0x" + spec.topic.hex()]
        for name, _typ in spec.indexed:
            topics.append("0x" + bytes(filters[name]).rjust(32, b"\0").hex() if name in filters else None)
        while topics[-1] is None:
            topics.pop()
        head = self.block_number()
        out: list[dict[str, Any]] = []
        for start in range(self.deploy_block, head + 1, self.log_page_blocks):
            end = min(start + self.log_page_blocks - 1, head)
            query: Any = {"address": self.address, "fromBlock": start, "toBlock": end, "topics": topics}
            for raw in self._call(partial(self.w3.eth.get_logs, query)):
                try:
                    decoded = decode_log(self._event_specs, raw)
                except Exception:  # not this event's shape: nothing a client can use
                    continue
                if decoded is not None:
                    out.append(decoded)
        return sorted(out, key=lambda d: (d["blockNumber"], d["logIndex"]))

    def namespace_names(self) -> list[str]:
        """Every namespace ever claimed, first claim first, from the ``NamespaceClaimed`` events (read
        in block pages from the deploy block: fine for a command, too slow per request - the
        verifier indexes them)."""
        return list(dict.fromkeys(str(log["args"]["namespace"]) for log in self._logs("NamespaceClaimed", {})))

    def releases_by_weights(self, weights_digest: bytes) -> list[ReleaseName]:
        """Every release anchoring these weights, in publish order (a squatter cannot hide the
        real publisher's release), read from the ``ReleasePublished`` events by their indexed
        ``weightsDigest`` topic, in pages: one call however many releases anchor the digest
        (the contract's ``releasesByWeights`` loops over all of them and runs out of gas at about
        11,800). Look each up with :meth:`release` for its state."""
        logs = self._logs("ReleasePublished", {"weightsDigest": weights_digest})
        names: list[ReleaseName] = []
        for log in logs:
            a = log["args"]
            try:
                name = ReleaseName(a["namespace"], a["model"], a["version"])
            except ModelsealError:  # a name no registry accepts: not a release of this contract
                continue
            if bytes(a["releaseId"]) == compute_release_id(name) and name not in names:
                names.append(name)
        return names

    # --- operators ---

    def authorize_operator(
        self,
        namespace: str,
        model: str,
        version: str | None,
        operator_did: str,
        expires_at: int,
        origins: Sequence[str] = (),
    ) -> TxResult:
        """Authorise an operator until ``expires_at`` (chain time), pinned to ``origins`` if any
        (canonical ``scheme://host[:port]`` strings: :func:`registry.identity.protocol.check_origins`)."""
        return self._transact(
            "authorizeOperator",
            namespace,
            model,
            version or "",
            operator_did,
            expires_at,
            list(origins),
            ctx={"namespace": namespace, "did": operator_did},
        )

    def revoke_operator(self, namespace: str, model: str, version: str | None, operator_did: str) -> TxResult:
        return self._transact(
            "revokeOperator",
            namespace,
            model,
            version or "",
            did_id(operator_did),
            ctx={"namespace": namespace, "did": operator_did},
        )

    def operator(self, namespace: str, model: str, version: str | None, operator_did: str) -> OperatorInfo:
        scope = compute_release_id(ReleaseName(namespace, model, version)) if version else model_id(namespace, model)
        o = self._call(lambda: self.contract.functions.operator(scope, did_id(operator_did)).call())
        return OperatorInfo(int(o.expiresAt), int(o.revokedAt), bytes(o.originsHash))

    def operator_origins(self, namespace: str, model: str, version: str | None, operator_did: str) -> tuple[str, ...]:
        """The origins the current authorisation is pinned to (empty: not pinned), read from its
        ``OperatorAuthorized`` event and checked against the hash the contract stores."""
        info = self.operator(namespace, model, version, operator_did)
        if info.origins_hash == ZERO32:
            return ()
        scope = compute_release_id(ReleaseName(namespace, model, version)) if version else model_id(namespace, model)
        logs = self._logs("OperatorAuthorized", {"scopeId": scope, "operatorDidHash": did_id(operator_did)})
        for log in reversed(logs):
            origins = tuple(str(o) for o in log["args"]["origins"])
            if keccak(abi_encode(["string[]"], [list(origins)])) == info.origins_hash:
                return origins
        raise ChainError(
            f"the chain stores pinned origins for {operator_did} that no OperatorAuthorized event lists",
            hint="the RPC may be serving incomplete logs; try another RPC URL",
        )

    def is_operator_authorized(self, release: ReleaseName, operator_did: str) -> bool:
        fn = self.contract.functions.isOperatorAuthorized(
            release.namespace, release.model, release.version, did_id(operator_did)
        )
        return bool(self._call(lambda: fn.call()))

    # --- endorsements ---

    def endorse(self, release: ReleaseName, kind: str, data_digest: bytes = ZERO32) -> TxResult:
        return self._transact("endorse", compute_release_id(release), kind, data_digest, ctx={"release": str(release)})

    def revoke_endorsement(self, release: ReleaseName, kind: str) -> TxResult:
        return self._transact("revokeEndorsement", compute_release_id(release), kind, ctx={"release": str(release)})

    def endorsement(self, release: ReleaseName, endorser: str, kind: str) -> EndorsementInfo:
        fn = self.contract.functions.endorsement(
            compute_release_id(release), Web3.to_checksum_address(endorser), keccak(text=kind)
        )
        e = self._call(lambda: fn.call())
        return EndorsementInfo(bytes(e.dataDigest), int(e.time), int(e.revokedAt))

    def endorsements(self, release: ReleaseName) -> list[dict[str, Any]]:
        """Every endorsement of a release as it stands now (from its ``Endorsed`` events, checked
        against storage): endorser account, kind, data digest, time and whether it was withdrawn.
        Who to trust among endorsers is the reader's choice (the verifier's ``MODELSEAL_TRUST``)."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for log in self._logs("Endorsed", {"releaseId": compute_release_id(release)}):
            endorser, kind = str(log["args"]["endorser"]), str(log["args"]["kind"])
            if (endorser, kind) in seen:
                continue
            seen.add((endorser, kind))
            e = self.endorsement(release, endorser, kind)
            if e.time:
                out.append(
                    {"endorser": endorser, "kind": kind, "dataDigest": e.data_digest.hex(), "time": e.time,
                     "revoked": bool(e.revoked_at)}
                )  # fmt: skip
        return out

    def signer_did_of(self, namespace: str, did_hash: bytes) -> str | None:
        """The DID behind a signer key (``keccak256(did)``), from the namespace's ``SignerAdded`` events."""
        for log in self._logs("SignerAdded", {"namespaceId": namespace_id(namespace), "didHash": did_hash}):
            did = str(log["args"]["did"])
            if did_id(did) == did_hash:
                return did
        return None

    # --- ids and version ---

    def version(self) -> str:
        return str(self._call(lambda: self.contract.functions.version().call()))

    def contract_ids(self, release: ReleaseName) -> tuple[bytes, bytes, bytes]:
        """The contract's own namespace, model and release ids (for cross-checking Python's)."""
        f = self.contract.functions
        return (
            bytes(self._call(lambda: f.namespaceId(release.namespace).call())),
            bytes(self._call(lambda: f.modelId(release.namespace, release.model).call())),
            bytes(self._call(lambda: f.releaseId(release.namespace, release.model, release.version).call())),
        )


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD
