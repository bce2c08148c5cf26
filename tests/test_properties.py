"""Properties on arbitrary input (hypothesis): the parsers of every document modelseal reads raise
nothing but their domain error; a proof never survives a mutation; the Python name rules agree
with the contract's through a real EVM; the indexer never stops on what the contract accepts."""

from __future__ import annotations

import base64
import contextlib
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.errors import InputError, InvalidName, ModelsealError
from registry.hashing.model import hash_model
from registry.names import ReleaseName, check_model, check_namespace, check_version
from registry.signing.keys import Ed25519Key
from registry.signing.manifest import Manifest
from registry.signing.proofs import sign_manifest, verify_manifest

EXAMPLES = int(os.environ.get("MODELSEAL_HYPOTHESIS_EXAMPLES", "200"))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)
RAW = st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass"))
fast = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Ed25519Key]:
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.safetensors").write_bytes(os.urandom(4096))
    (folder / "config.json").write_text('{"layers": 2}')
    key = Ed25519Key.generate()
    manifest = Manifest.create(ReleaseName("acme", "chat", "1.0"), key.did, hash_model(folder), license="MIT")
    return sign_manifest(manifest, key), key


# --- parsers never raise anything but their domain error --------------------------------------


@fast
@given(RAW)
def test_manifest_text_parser(data: bytes) -> None:
    with contextlib.suppress(InputError):
        Manifest.from_json(data)


@fast
@given(JSON)
def test_manifest_document_parser(doc: Any) -> None:
    with contextlib.suppress(InputError):
        Manifest.from_dict(doc)


@fast
@given(JSON, st.sampled_from(["type", "release", "weights", "publisher", "created", "proof", "filing", "lineage"]))
def test_manifest_parser_with_one_member_replaced(signed: tuple[Manifest, Ed25519Key], value: Any, member: str) -> None:
    doc = {**signed[0].document(), member: value}
    with contextlib.suppress(ModelsealError):
        verify_manifest(Manifest.from_dict(doc))


@fast
@given(st.text(max_size=200) | st.sampled_from(["did:key:z", "did:pkh:eip155:1:0x", "did:key:z6Mk", "did:pkh:"]))
def test_did_parsers(text: str) -> None:
    from registry.signing.keys import PkhDID, did_method, public_key_from_did_key

    for parse in (did_method, public_key_from_did_key, PkhDID.parse):
        with contextlib.suppress(ModelsealError):
            parse(text)


@fast
@given(JSON)
def test_claim_parser(doc: Any) -> None:
    from registry.identity.protocol import Claim

    with contextlib.suppress(ModelsealError):
        Claim.from_document(doc)


@fast
@given(st.text(max_size=300) | JSON.map(lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode()))
def test_receipt_parser(header: str) -> None:
    from registry.identity.protocol import verify_receipt

    with contextlib.suppress(ModelsealError):
        verify_receipt(header, b"{}", b"{}")


@fast
@given(st.dictionaries(st.text(max_size=20), JSON, max_size=8))
def test_proof_verifier_on_arbitrary_proofs(signed: tuple[Manifest, Ed25519Key], proof: dict[str, Any]) -> None:
    from registry.signing.proofs import verify_one

    with contextlib.suppress(ModelsealError):
        verify_one(signed[0], proof)


# --- a proof never verifies after a mutation -------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = _set(copy[path[0]], path[1:], value)
    return copy


@fast
@given(st.data())
def test_a_proof_never_verifies_after_any_mutation(signed: tuple[Manifest, Ed25519Key], data: st.DataObject) -> None:
    doc = signed[0].document()
    path = data.draw(st.sampled_from(_paths(doc)), label="path")
    old = _dig(doc, path)
    new = data.draw(JSON.filter(lambda v: json.dumps(v) != json.dumps(old)), label="value")
    mutated = _set(doc, path, new)
    with pytest.raises(ModelsealError):
        verify_manifest(Manifest.from_dict(mutated), expected_signer=signed[1].did)


def _dig(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


# --- names: Python and the contract agree, through the EVM -------------------------------------

NAME_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F) | st.sampled_from("é─"), max_size=70)


@pytest.fixture(scope="module")
def evm() -> Any:
    from eth_account import Account
    from web3 import EthereumTesterProvider, Web3

    from registry.chain.client import RegistryClient

    w3 = Web3(EthereumTesterProvider())
    owner = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": owner.address, "value": 10**21})
    client, _ = RegistryClient.deploy(w3, owner)
    client.claim_namespace("acme")
    did = Ed25519Key.generate().did
    client.add_signer("acme", did)
    return client, did


def _contract_accepts(client: Any, call: Any) -> bool:
    """Whether the contract's name rules let the call through (simulated with eth_call; the
    revert decoded by the client, on eth-tester and anvil alike)."""
    from registry.errors import RegistryRevert

    try:
        client._call(lambda: call.call({"from": client.account.address}))
    except RegistryRevert as exc:
        assert exc.error == "InvalidName", exc.message  # any other revert is not about the name
        return False
    return True


def _python_accepts(check: Any, name: str) -> bool:
    try:
        check(name)
    except InvalidName:
        return False
    return True


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(NAME_TEXT)
def test_name_rules_agree_with_the_contract(evm: Any, name: str) -> None:
    from registry.names import did_id

    client, did = evm
    fns = client.contract.functions
    utf8 = name.encode("utf-8")
    if len(utf8) != len(name):  # not ASCII: both refuse (the contract sees bytes)
        assert not _python_accepts(check_namespace, name) and not _python_accepts(check_model, name)
    digests = (b"\x01" * 32, b"\x02" * 32, did_id(did))
    if name != "acme":  # taken in this registry: that revert is not about the name
        assert _python_accepts(check_namespace, name) == _contract_accepts(client, fns.claimNamespace(name)), name
    assert _python_accepts(check_model, name) == _contract_accepts(
        client, fns.publishRelease("acme", name, "1.0", *digests)
    ), name
    assert _python_accepts(check_version, name) == _contract_accepts(
        client, fns.publishRelease("acme", "chat", name, *digests)
    ), name


# --- the indexer never stops on what the contract accepts ---------------------------------------

U64 = st.integers(min_value=0, max_value=2**64 - 1)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("operator"),
            U64,
            st.lists(st.sampled_from(["https://a.example", "http://b.example:8080"]), max_size=3, unique=True),
        ),
        st.tuples(
            st.just("publish"),
            st.text(alphabet="abc019._-", min_size=1, max_size=64),
            st.text(alphabet="".join(chr(c) for c in range(0x21, 0x7F)), min_size=1, max_size=64),
        ),
        st.tuples(
            st.just("endorse"),
            st.text(alphabet="abcxyz.-_:/", min_size=1, max_size=64),
            st.binary(min_size=32, max_size=32),
        ),
        st.tuples(st.just("revoke"), st.text(max_size=2000), st.just(None)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=max(10, EXAMPLES // 10), deadline=None)
@given(ACTIONS)
def test_the_indexer_indexes_whatever_the_contract_accepts(actions: list[tuple[Any, Any, Any]]) -> None:
    from eth_account import Account
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session
    from web3 import EthereumTesterProvider, Web3

    from registry.chain.client import RegistryClient
    from registry.errors import RegistryRefused
    from verifier.index import queries
    from verifier.index.indexer import Indexer
    from verifier.index.schema import EventRow, make_engine

    w3 = Web3(EthereumTesterProvider())
    owner = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": owner.address, "value": 10**21})
    client, _ = RegistryClient.deploy(w3, owner)
    client.claim_namespace("acme")
    signer = Ed25519Key.generate().did
    client.add_signer("acme", signer)
    published: list[ReleaseName] = []
    for kind, a, b in actions:
        try:
            if kind == "operator":
                client.authorize_operator("acme", "chat", None, Ed25519Key.generate().did, a, b)
            elif kind == "publish":
                rel = ReleaseName("acme", a, b)
                client.publish(rel, os.urandom(32), os.urandom(32), signer)
                published.append(rel)
            elif kind == "endorse" and published:
                client.endorse(published[-1], a, b)
            elif kind == "revoke" and published:
                client.revoke(published.pop(), a)
        except (RegistryRefused, InvalidName):
            continue  # refused by the contract (or the client before sending): nothing to index
    engine = make_engine("sqlite://")
    idx = Indexer(engine, w3, client.address, deploy_block=client.deploy_block, batch_blocks=2)
    idx.sync_once()
    assert idx.indexed_block() == w3.eth.block_number
    logs = w3.eth.get_logs({"address": client.address, "fromBlock": client.deploy_block, "toBlock": "latest"})
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == len(logs)
        ns = queries.get_namespace(s, "acme", idx.chain_time())
        assert ns is not None
        json.dumps(ns)  # every value renders (far-future expiries included)
        for rel in published:
            assert queries.find_release(s, rel.namespace, rel.model, rel.version) is not None
