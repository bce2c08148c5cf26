"""registry.chain.client against the real contract, on py-evm (in process) and on a real anvil.

Every test runs on both chains (the ``chain`` fixture is parametrised): the same Python code,
the same decoded errors.
"""

from __future__ import annotations

import pytest
from conftest import Chain

from registry.chain.client import REGISTRY_VERSION, RegistryClient
from registry.errors import RegistryRevert
from registry.names import ReleaseName, did_id, model_id, namespace_id, release_id
from registry.signing.keys import Ed25519Key

REL = ReleaseName("smollm", "smollm2-135m-instruct", "1.0.0")
M1, W1 = b"\x11" * 32, b"\x22" * 32


@pytest.fixture
def registry(chain: Chain) -> RegistryClient:
    return chain.deploy(0)


def _publisher(registry: RegistryClient, namespace: str = "smollm") -> str:
    did = Ed25519Key.generate().did
    registry.claim_namespace(namespace)
    registry.add_signer(namespace, did)
    return did


def test_ids_equal_the_contracts(registry: RegistryClient) -> None:
    for rel in [REL, ReleaseName("a-b", "m.v_2", "v1.0+build/7~x")]:
        ns_id, m_id, r_id = registry.contract_ids(rel)
        assert ns_id == namespace_id(rel.namespace)
        assert m_id == model_id(rel.namespace, rel.model)
        assert r_id == release_id(rel)
    assert registry.version() == REGISTRY_VERSION == "1.3.0"


def test_claim_and_two_step_transfer(chain: Chain, registry: RegistryClient) -> None:
    tx = registry.claim_namespace("smollm")
    assert tx.event("NamespaceClaimed")["namespace"] == "smollm"
    info = registry.namespace("smollm")
    assert info is not None and info.controller == chain.accounts[0].address
    assert registry.namespace("nobody") is None
    other = chain.client_for(registry, 1)
    with pytest.raises(RegistryRevert, match="already owned by") as exc:
        other.claim_namespace("smollm")
    assert exc.value.error == "NamespaceTaken"
    with pytest.raises(RegistryRevert, match="has no pending transfer"):
        other.accept_namespace("smollm")
    registry.transfer_namespace("smollm", chain.accounts[1].address)
    pending = registry.namespace("smollm")
    assert pending is not None and pending.pending_controller == chain.accounts[1].address
    other.accept_namespace("smollm")
    after = registry.namespace("smollm")
    assert after is not None and after.controller == chain.accounts[1].address and after.pending_controller is None
    with pytest.raises(RegistryRevert, match="does not control namespace 'smollm'"):
        registry.add_signer("smollm", Ed25519Key.generate().did)


@pytest.mark.parametrize(
    "name",
    [
        "Smollm",
        "smollm_2",
        "-smollm",
        "smol--lm",
        "d\u0435epseek",
        "x",
    ],  # upper case, bad char, hyphens, Cyrillic, short
)
def test_bad_namespaces_revert_on_chain_with_words(registry: RegistryClient, name: str) -> None:
    with pytest.raises(RegistryRevert) as exc:
        registry.claim_namespace(name)
    assert exc.value.error == "InvalidName"
    assert exc.value.args_by_name["name"] == name
    assert "refuses the namespace" in exc.value.message


def test_publish_read_back_and_first_writer_wins(chain: Chain, registry: RegistryClient) -> None:
    did = _publisher(registry)
    tx = registry.publish(REL, M1, W1, did)
    event = tx.event("ReleasePublished")
    assert (event["namespace"], event["model"], event["version"]) == ("smollm", "smollm2-135m-instruct", "1.0.0")
    info = registry.release(REL)
    assert info is not None
    assert (info.name, info.manifest_digest, info.weights_digest) == (REL, M1, W1)
    assert info.signer_did_hash == did_id(did) and info.publisher == chain.accounts[0].address
    assert info.published_at > 0 and not info.revoked
    assert registry.release(ReleaseName("smollm", "smollm2-135m-instruct", "9.9")) is None
    with pytest.raises(RegistryRevert, match="already exists") as exc:
        registry.publish(REL, b"\x33" * 32, W1, did)
    assert exc.value.error == "ReleaseExists"
    again = registry.release(REL)
    assert again is not None and again.manifest_digest == M1  # never re-pointed


def test_publish_in_someone_elses_namespace_reverts(chain: Chain, registry: RegistryClient) -> None:
    did = _publisher(registry)
    intruder = chain.client_for(registry, 2)
    with pytest.raises(RegistryRevert, match="does not control namespace 'smollm'") as exc:
        intruder.publish(REL, M1, W1, did)
    assert exc.value.error == "NotNamespaceController"
    assert exc.value.args_by_name["account"] == chain.accounts[2].address
    with pytest.raises(RegistryRevert, match="does not control"):
        intruder.authorize_operator("smollm", "smollm2-135m-instruct", None, Ed25519Key.generate().did, 2**40)


def test_weights_lookup_lists_every_release_in_publish_order(chain: Chain, registry: RegistryClient) -> None:
    did = _publisher(registry)
    squatter = chain.client_for(registry, 3)
    sq_did = Ed25519Key.generate().did
    squatter.claim_namespace("smollm-official")
    squatter.add_signer("smollm-official", sq_did)
    squatter.publish(ReleaseName("smollm-official", "chat", "1"), b"\x44" * 32, W1, sq_did)
    registry.publish(REL, M1, W1, did)
    found = registry.releases_by_weights(W1)
    assert [str(r) for r in found] == ["smollm-official/chat/1", str(REL)]  # from the events, in publish order
    assert registry.releases_by_weights(b"\x99" * 32) == []


def test_rotated_key_keeps_old_release_valid_but_cannot_sign_new(chain: Chain, registry: RegistryClient) -> None:
    old = _publisher(registry)
    registry.publish(REL, M1, W1, old)
    published = registry.release(REL)
    assert published is not None
    chain.advance(10)
    new = Ed25519Key.generate().did
    registry.add_signer("smollm", new)
    registry.remove_signer("smollm", old)
    chain.advance(10)
    # judged at anchoring time, the old key was a signer
    assert registry.is_signer_at("smollm", old, published.published_at)
    assert not registry.is_signer_at("smollm", old, registry.now())
    with pytest.raises(RegistryRevert, match="not an active signer") as exc:
        registry.publish(ReleaseName("smollm", "smollm2-135m-instruct", "1.0.1"), M1, b"\x55" * 32, old)
    assert exc.value.error == "InactiveSigner"
    registry.publish(ReleaseName("smollm", "smollm2-135m-instruct", "1.0.1"), M1, b"\x55" * 32, new)
    with pytest.raises(RegistryRevert, match="can never be added back"):
        registry.add_signer("smollm", old)


def test_revoke_release(registry: RegistryClient) -> None:
    did = _publisher(registry)
    registry.publish(REL, M1, W1, did)
    registry.revoke(REL, "test set leaked")
    info = registry.release(REL)
    assert info is not None and info.revoked and info.revoke_reason == "test set leaked"
    with pytest.raises(RegistryRevert, match="already revoked"):
        registry.revoke(REL, "again")
    with pytest.raises(RegistryRevert, match="already exists"):
        registry.publish(REL, M1, W1, did)


def test_operators_scope_expiry_and_revocation(chain: Chain, registry: RegistryClient) -> None:
    did = _publisher(registry)
    registry.publish(REL, M1, W1, did)
    op_model, op_release = Ed25519Key.generate().did, Ed25519Key.generate().did
    now = registry.now()
    registry.authorize_operator("smollm", "smollm2-135m-instruct", None, op_model, now + 100)
    registry.authorize_operator("smollm", "smollm2-135m-instruct", "1.0.0", op_release, now + 1000)
    assert registry.is_operator_authorized(REL, op_model)
    assert registry.is_operator_authorized(REL, op_release)
    assert not registry.is_operator_authorized(REL, Ed25519Key.generate().did)
    assert registry.operator("smollm", "smollm2-135m-instruct", None, op_model).expires_at == now + 100
    chain.advance(200)
    assert not registry.is_operator_authorized(REL, op_model)  # expired
    assert registry.is_operator_authorized(REL, op_release)
    registry.revoke_operator("smollm", "smollm2-135m-instruct", "1.0.0", op_release)
    assert not registry.is_operator_authorized(REL, op_release)
    with pytest.raises(RegistryRevert, match="already revoked"):
        registry.revoke_operator("smollm", "smollm2-135m-instruct", "1.0.0", op_release)
    with pytest.raises(RegistryRevert, match="not after the chain's current time") as exc:
        registry.authorize_operator("smollm", "smollm2-135m-instruct", None, op_model, 1)
    assert exc.value.error == "ExpiryNotInFuture"


def test_endorsements(chain: Chain, registry: RegistryClient) -> None:
    did = _publisher(registry)
    registry.publish(REL, M1, W1, did)
    regulator = chain.client_for(registry, 4)
    regulator.endorse(REL, "filing.submitted", b"\x66" * 32)
    e = registry.endorsement(REL, chain.accounts[4].address, "filing.submitted")
    assert e.data_digest == b"\x66" * 32 and e.time > 0 and e.revoked_at == 0
    with pytest.raises(RegistryRevert, match="already endorsed"):
        regulator.endorse(REL, "filing.submitted", b"\x77" * 32)
    regulator.revoke_endorsement(REL, "filing.submitted")
    assert registry.endorsement(REL, chain.accounts[4].address, "filing.submitted").revoked_at > 0
    regulator.endorse(REL, "filing.submitted", b"\x77" * 32)  # a revoked one may be replaced
    with pytest.raises(RegistryRevert, match="is not published"):
        regulator.endorse(ReleaseName("smollm", "x", "1"), "audit.passed")


def test_revert_with_explicit_gas_is_still_explained(registry: RegistryClient) -> None:
    """With explicit gas a revert is mined (status 0) instead of raised; the client replays it."""
    registry.claim_namespace("smollm")
    with pytest.raises(RegistryRevert) as exc:
        registry._transact("claimNamespace", "smollm", gas=300_000)
    assert exc.value.error == "NamespaceTaken"
