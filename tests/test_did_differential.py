"""The contract's name rules against the Python ones, through a real dev chain (anvil).

The registry refuses a DID that ``registry.signing.keys.check_did`` refuses (``InvalidName`` kind 4)
and accepts every one it accepts, so one key has one DID and one signer key on chain. Each case
is simulated with ``eth_call`` (no transaction): ``addSigner`` and ``authorizeOperator`` from the
namespace's controller must both succeed or both revert with ``InvalidName(4, did)``. The same is
done for the namespace, model and version rules against ``registry.names``.

Hypothesis examples: ``MODELSEAL_HYPOTHESIS_EXAMPLES`` (200 by default), as in test_properties.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.errors import InvalidDID, InvalidName, RegistryRevert
from registry.names import check_model, check_namespace, check_version, did_id, namespace_id
from registry.signing.keys import check_did, did_key_from_public

EXAMPLES = int(os.environ.get("MODELSEAL_HYPOTHESIS_EXAMPLES", "200"))
fast = settings(max_examples=EXAMPLES, deadline=None)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_TOP = 0xED01  # multicodec ed25519-pub: the bits above the 32 key bytes
FAR = 2**63  # an expiry always in the future
DIDS_NS = "dids"  # a namespace with no signer: addSigner reverts only for the DID
NAMES_NS = "acme"  # a namespace with one signer: publishRelease reverts only for a name
NAME_KINDS = {"namespace": 0, "model": 1, "version": 2, "did": 4}


def b58(value: int) -> str:
    """Plain base58 of a positive integer (most significant digit first)."""
    out = ""
    while value:
        value, digit = divmod(value, 58)
        out = B58[digit] + out
    return out


def did_key_of_value(value: int) -> str:
    return "did:key:z" + b58(value)


def eip55(address: bytes) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


@dataclass
class Registry:
    client: RegistryClient
    signer: str

    @property
    def sender(self) -> dict[str, Any]:
        assert self.client.account is not None
        return {"from": self.client.account.address}

    def outcome(self, call: Any, kind: str) -> str | None:
        """None if the eth_call succeeds, else the name an ``InvalidName`` of ``kind`` refused (any
        other revert fails the test: it would not be about the name)."""
        try:
            self.client._call(lambda: call.call(self.sender))
        except RegistryRevert as exc:
            assert exc.error == "InvalidName", exc.message
            assert exc.args_by_name["kind"] == NAME_KINDS[kind], exc.message
            return str(exc.args_by_name["name"])
        return None

    def accepts_did(self, did: str) -> bool:
        fns = self.client.contract.functions
        as_signer = self.outcome(fns.addSigner(namespace_id(DIDS_NS), did), "did")
        as_operator = self.outcome(fns.authorizeOperator(DIDS_NS, "chat", "", did, FAR, []), "did")
        assert as_signer == as_operator, (did, as_signer, as_operator)
        assert as_signer in (None, did), (did, as_signer)  # the revert names the DID itself
        return as_signer is None


@pytest.fixture(scope="module")
def registry(anvil_url: str) -> Iterator[Registry]:
    from eth_account import Account
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(anvil_url))
    client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[8]))
    client.claim_namespace(DIDS_NS)
    client.claim_namespace(NAMES_NS)
    signer = did_key_from_public(b"\x07" * 32)
    client.add_signer(NAMES_NS, signer)
    yield Registry(client, signer)


def python_accepts(check: Callable[[str], object], error: type[Exception], text: str) -> bool:
    try:
        check(text)
    except error:
        return False
    return True


def assert_did_rules_agree(registry: Registry, did: str) -> None:
    assert python_accepts(check_did, InvalidDID, did) == registry.accepts_did(did), did


# --- DIDs: fixed tricky cases ----------------------------------------------------------------

KEY = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"  # W3C CCG test vector
ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55 test vector
PKH = f"did:pkh:eip155:1:{ADDRESS}"
TRICKY = [
    KEY,
    did_key_of_value(ED25519_TOP << 256),  # the least key
    did_key_of_value(((ED25519_TOP + 1) << 256) - 1),  # the greatest key
    did_key_of_value((ED25519_TOP << 256) - 1),  # 0xed00ff..ff: "z6Mk", 47 digits, not a key
    did_key_of_value((ED25519_TOP + 1) << 256),  # 0xed0200..00: likewise
    did_key_of_value((0xED << 256) + 5),  # 33 bytes
    "did:key:z" + b58((ED25519_TOP << 264) | 1),  # 35 bytes
    "did:key:z1" + KEY[9:],  # a leading zero byte
    KEY[:-1],
    KEY + "p",
    KEY + "#" + KEY[8:],
    KEY + " ",
    " " + KEY,
    KEY + "\n",
    KEY.replace("did:key:z", "did:key:Z"),
    KEY.upper(),
    KEY[:-2] + "0p",
    KEY[:-2] + "Op",
    KEY[:-2] + "Ip",
    KEY[:-2] + "lp",
    KEY[:-2] + "\u00e9",  # 2 UTF-8 bytes: still 56 bytes long
    KEY[:-2] + "\uff57p",  # a full-width letter
    KEY[:-2] + "\u00b1",  # C2 B1: with the top bits cleared, two digits ("B1")
    KEY[:12] + "\u00f1" + KEY[14:],  # C3 B1 ("C1")
    "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1-pub
    PKH,
    PKH.lower(),
    PKH[:17] + ADDRESS.upper().replace("0X", "0x"),
    PKH[:-1] + "D",
    PKH.replace(":0x", ":0X"),
    PKH + "#blockchainAccountId",
    PKH + " ",
    PKH[:-1],
    PKH + "0",
    # not a hex digit, below "A" and above "f"; also where no checksum letter could give it away
    *(PKH[:-1] + c for c in " /:@G`gz\u00e9"),
    *(f"did:pkh:eip155:1:0x{'0' * 39}{c}" for c in " /:@G`gz\u00e9"),
    f"did:pkh:eip155:{2**64 - 1}:{ADDRESS}",
    f"did:pkh:eip155:{2**64}:{ADDRESS}",
    f"did:pkh:eip155:{10**19}:{ADDRESS}",
    f"did:pkh:eip155:{10**20}:{ADDRESS}",
    f"did:pkh:eip155:0:{ADDRESS}",
    f"did:pkh:eip155:01:{ADDRESS}",
    f"did:pkh:eip155::{ADDRESS}",
    f"did:pkh:eip155:+1:{ADDRESS}",
    f"did:pkh:eip155:\u0661:{ADDRESS}",  # an Arabic-Indic digit
    f"did:pkh:eip155:\uff11:{ADDRESS}",  # a full-width digit
    f"did:pkh:eip155:1:0x{'0' * 40}",
    "did:pkh:eip155:1:0x52908400098527886E0F7030069857D2E4169EE7",  # all upper case, and valid
    "did:pkh:eip155:1:0xde709f2102306220921060314715629080e2fb77",  # all lower case, and valid
    f"did:pkh:bip122:1:{ADDRESS}",
    "hello",
    "",
    "did:key:",
    "did:pkh:",
    "did:web:example.com",
]


@pytest.mark.parametrize("did", TRICKY)
def test_fixed_dids(registry: Registry, did: str) -> None:
    assert_did_rules_agree(registry, did)


def test_the_fixed_cases_include_both_verdicts(registry: Registry) -> None:
    """Guards the list above: it must exercise acceptance as well as refusal."""
    verdicts = [python_accepts(check_did, InvalidDID, did) for did in TRICKY]
    assert sum(verdicts) >= 8 and len(verdicts) - sum(verdicts) >= 30


# --- DIDs: generated -------------------------------------------------------------------------

PREFIXES = st.sampled_from(["", "did:key:z", "did:key:z6Mk", "did:pkh:eip155:", "did:pkh:eip155:1:0x", "did:"])
ASCII = st.characters(max_codepoint=0x7F)
TEXT = st.tuples(PREFIXES, st.text(max_size=80) | st.text(alphabet=ASCII, max_size=80)).map("".join)
# "z6Mk" and 46..49 digits: about a third of the 47-digit ones are keys
KEY_SHAPED = st.text(alphabet=B58, min_size=43, max_size=46).map(lambda rest: "did:key:z6Mk" + rest)
VALID_KEY = st.binary(min_size=32, max_size=32).map(did_key_from_public)
BOUNDS = [ED25519_TOP << 256, (ED25519_TOP + 1) << 256]
KEY_VALUE = st.one_of(
    st.integers(min_value=0xECFF << 256, max_value=(0xED03 << 256) - 1),
    st.tuples(st.sampled_from(BOUNDS), st.integers(min_value=-(2**20), max_value=2**20)).map(sum),
).map(did_key_of_value)
CHAIN_ID = st.one_of(
    st.integers(min_value=0, max_value=2**64 + 10),
    st.integers(min_value=2**64 - 3, max_value=2**64 + 3),
    st.sampled_from([0, 1, 9, 10, 31337, 10**19, 10**20 - 1, 10**20, 10**21]),
)


@fast
@given(TEXT)
def test_random_text(registry: Registry, did: str) -> None:
    assert_did_rules_agree(registry, did)


@fast
@given(KEY_SHAPED)
def test_random_key_shaped_strings(registry: Registry, did: str) -> None:
    assert_did_rules_agree(registry, did)


@fast
@given(VALID_KEY)
def test_random_valid_keys(registry: Registry, did: str) -> None:
    assert python_accepts(check_did, InvalidDID, did)
    assert registry.accepts_did(did), did


@fast
@given(KEY_VALUE)
def test_key_values_around_the_ed25519_range(registry: Registry, did: str) -> None:
    assert_did_rules_agree(registry, did)


@fast
@given(VALID_KEY, st.integers(min_value=9, max_value=55), st.sampled_from(B58 + "0OIl+/ #\u00e9") | ASCII)
def test_a_valid_key_with_one_character_replaced(registry: Registry, did: str, at: int, char: str) -> None:
    assert_did_rules_agree(registry, did[:at] + char + did[at + 1 :])


@fast
@given(VALID_KEY, st.integers(min_value=9, max_value=54), st.characters(min_codepoint=0x80, max_codepoint=0x7FF))
def test_a_valid_key_with_two_digits_replaced_by_a_two_byte_character(
    registry: Registry, did: str, at: int, char: str
) -> None:
    assert_did_rules_agree(registry, did[:at] + char + did[at + 2 :])  # still 56 bytes


@fast
@given(
    st.binary(min_size=20, max_size=20),
    st.integers(min_value=0, max_value=39),
    st.characters(max_codepoint=0xFF) | st.characters(),
)
def test_a_valid_pkh_with_one_character_replaced(registry: Registry, address: bytes, at: int, char: str) -> None:
    did = f"did:pkh:eip155:1:{eip55(address)}"
    at += len(did) - 40
    assert_did_rules_agree(registry, did[:at] + char + did[at + 1 :])


@fast
@given(
    st.binary(min_size=20, max_size=20),
    CHAIN_ID,
    st.booleans(),
    st.sampled_from(["checksum", "lower", "upper", "flips"]),
    st.sets(st.integers(min_value=0, max_value=39), min_size=1, max_size=3),
)
def test_random_pkh(
    registry: Registry, address: bytes, chain_id: int, leading_zero: bool, case: str, flips: set[int]
) -> None:
    digits = eip55(address)[2:]
    if case == "lower":
        digits = digits.lower()
    elif case == "upper":
        digits = digits.upper()
    elif case == "flips":
        digits = "".join(c.swapcase() if i in flips else c for i, c in enumerate(digits))
    chain = ("0" if leading_zero else "") + str(chain_id)
    assert_did_rules_agree(registry, f"did:pkh:eip155:{chain}:0x{digits}")


# --- names: namespace, model, version ----------------------------------------------------------

NAME_TEXT = st.one_of(
    st.text(alphabet=ASCII | st.sampled_from("\u00e9\u2500\u0435"), max_size=70),
    st.text(alphabet="abz09-._~A/ ", max_size=66),
)


@fast
@given(NAME_TEXT)
def test_name_rules(registry: Registry, name: str) -> None:
    fns = registry.client.contract.functions
    digests = (b"\x01" * 32, b"\x02" * 32, did_id(registry.signer))
    if name not in (DIDS_NS, NAMES_NS):  # taken: that revert is not about the name
        refused = registry.outcome(fns.claimNamespace(name), "namespace")
        assert python_accepts(check_namespace, InvalidName, name) == (refused is None), name

    model_ok = python_accepts(check_model, InvalidName, name)
    assert model_ok == (registry.outcome(fns.publishRelease(NAMES_NS, name, "1.0", *digests), "model") is None)
    assert model_ok == (registry.outcome(fns.authorizeOperator(NAMES_NS, name, "", KEY, FAR, []), "model") is None)

    version_ok = python_accepts(check_version, InvalidName, name)
    assert version_ok == (registry.outcome(fns.publishRelease(NAMES_NS, "chat", name, *digests), "version") is None)
    # an empty version means "the whole model" to authorizeOperator
    operator = registry.outcome(fns.authorizeOperator(NAMES_NS, "chat", name, KEY, FAR, []), "version")
    assert (version_ok or name == "") == (operator is None), name
