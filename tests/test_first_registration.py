"""First registration wins the benefit of the doubt (issue 18): a namespace that could be mistaken
for one claimed before it is flagged, with the earlier one named as the original; the original is
never flagged for its imitators (its owner gets a notice of them). Real anvil, real registry,
the verifier's index and the CLI's direct chain reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.errors import RegistryRefused
from verifier.app import create_app
from verifier.check import ClientFacts
from verifier.settings import VerifierSettings

ORIGINALS = ("mistral", "anthropic")
# look-alike -> (the original, the reason it is flagged for), one of each kind per original
LOOKALIKES = {
    "mis-tral": ("mistral", "separator"),
    "anthropic-ai": ("anthropic", "affix"),
    "mistral-official": ("mistral", "affix"),
    "m1stral": ("mistral", "ascii-lookalike"),  # digit for letter
    "anthr0pic": ("anthropic", "ascii-lookalike"),
    "mistrel": ("mistral", "edit-distance"),  # one letter changed
    "antropic": ("anthropic", "edit-distance"),  # one letter left out
}
UNRELATED = ("cohere", "qwen2", "deepseek")
UNICODE = ("mistr\u0430l", "\u0430nthropic", "m\u0456stral")  # Cyrillic a, Cyrillic a, Ukrainian i


@pytest.fixture(scope="module")
def registry_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[RegistryClient, TestClient]:
    from registry.chain.devchain import throwaway_anvil

    tmp = tmp_path_factory.mktemp("first-registration")
    with throwaway_anvil("--chain-id", "31337", log=tmp / "anvil.log") as url:
        w3 = Web3(Web3.HTTPProvider(url))
        original, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[1]))
        squatter = RegistryClient(
            w3, original.address, account=Account.from_key(ANVIL_DEV_KEYS[2]), deploy_block=original.deploy_block
        )
        for name in ORIGINALS:
            original.claim_namespace(name)
        for name in (*LOOKALIKES, *UNRELATED):
            squatter.claim_namespace(name)
        settings = VerifierSettings(
            home=tmp / "home",
            rpc_url=url,
            registry=original.address,
            deploy_block=original.deploy_block,
            index_in_background=False,
        )
        app = create_app(settings)
        app.state.services.indexer.sync_once()
        yield original, TestClient(app)


def _names(found: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(c["namespace"], c["reason"]) for c in found]


@pytest.mark.parametrize(("name", "expected"), LOOKALIKES.items())
def test_a_later_lookalike_is_flagged_with_the_original_named(
    registry_world: tuple[RegistryClient, TestClient], name: str, expected: tuple[str, str]
) -> None:
    client, http = registry_world
    body = http.get(f"/v1/namespaces/{name}").json()
    assert expected in _names(body["confusableWith"])
    assert all(c["namespace"] in ORIGINALS or c["namespace"] in LOOKALIKES for c in body["confusableWith"])
    # the CLI's facts, read from the contract's events, agree with the verifier's index
    assert expected in _names(ClientFacts(client).confusions(name))
    verdict = http.get("/v1/check", params={"url": "http://127.0.0.1:9", "release": f"{name}/chat/1"}).json()
    warning = next(w for w in verdict["warnings"] if w["code"] == "confusable-name")
    assert warning["check"] == "names" and verdict["verdict"] != "verified"


@pytest.mark.parametrize("name", ORIGINALS)
def test_the_original_carries_no_warning_and_lists_its_imitators_as_a_notice(
    registry_world: tuple[RegistryClient, TestClient], name: str
) -> None:
    client, http = registry_world
    body = http.get(f"/v1/namespaces/{name}").json()
    assert body["confusableWith"] == []
    imitators = {n for n, (original, _) in LOOKALIKES.items() if original == name}
    assert imitators <= {c["namespace"] for c in body["lookalikes"]}
    assert ClientFacts(client).confusions(name) == []
    verdict = http.get("/v1/check", params={"url": "http://127.0.0.1:9", "release": f"{name}/chat/1"}).json()
    assert "confusable-name" not in {w["code"] for w in verdict["warnings"]}
    assert not any(c["name"] == "names" for c in verdict["checks"])


@pytest.mark.parametrize("name", UNRELATED)
def test_unrelated_names_carry_no_warning(registry_world: tuple[RegistryClient, TestClient], name: str) -> None:
    client, http = registry_world
    body = http.get(f"/v1/namespaces/{name}").json()
    assert body["confusableWith"] == [] and body["lookalikes"] == []
    assert ClientFacts(client).confusions(name) == []


def test_an_unclaimed_lookalike_is_warned_against_every_claimed_original(
    registry_world: tuple[RegistryClient, TestClient],
) -> None:
    _, http = registry_world
    body = http.get("/v1/namespaces/mistra1/confusables").json()  # nobody claimed it: all names came first
    assert ("mistral", "ascii-lookalike") in _names(body["confusableWith"]) and body["lookalikes"] == []


@pytest.mark.parametrize("name", UNICODE)
def test_unicode_lookalikes_are_refused_on_chain(registry_world: tuple[RegistryClient, TestClient], name: str) -> None:
    client, _ = registry_world
    with pytest.raises(RegistryRefused, match="refuses the namespace"):
        client.claim_namespace(name)  # sent as is: the contract itself refuses it
    assert name not in client.namespace_names()


def test_the_order_is_the_chains_not_the_alphabet(tmp_path: Path) -> None:
    """'anthr0pic' sorts before 'anthropic'; claimed after it, it is still the look-alike."""
    from registry.confusables import ConfusableIndex

    index = ConfusableIndex(["anthropic", "anthr0pic"])
    assert [c.existing for c in index.standing("anthr0pic").earlier] == ["anthropic"]
    assert index.standing("anthropic").earlier == []
    assert [c.existing for c in index.standing("anthropic").later] == ["anthr0pic"]
    reversed_index = ConfusableIndex(["anthr0pic", "anthropic"])  # had the squatter come first
    assert [c.existing for c in reversed_index.standing("anthropic").earlier] == ["anthr0pic"]


def test_a_manifest_verdict_of_a_lookalike_carries_the_warning(
    registry_world: tuple[RegistryClient, TestClient], model_dir: Path
) -> None:
    from registry.hashing.model import hash_model
    from registry.names import ReleaseName
    from registry.signing.keys import Ed25519Key
    from registry.signing.manifest import Manifest
    from registry.signing.proofs import sign_manifest

    original, http = registry_world
    squatter = RegistryClient(
        original.w3, original.address, account=Account.from_key(ANVIL_DEV_KEYS[2]), deploy_block=original.deploy_block
    )
    key = Ed25519Key.generate()
    squatter.add_signer("m1stral", key.did)
    md = hash_model(model_dir)
    manifest = sign_manifest(Manifest.create(ReleaseName("m1stral", "chat", "1"), key.did, md), key)
    squatter.publish(manifest.release_name, manifest.digest.value, md.weights.value, key.did)
    http.app.state.services.indexer.sync_once()  # type: ignore[attr-defined]
    verdict = http.post("/v1/manifests/verify", json=manifest.document()).json()
    assert verdict["verdict"] == "verified"  # a true manifest: the warning sits beside the verdict
    names = next(c for c in verdict["checks"] if c["name"] == "names")
    assert "mistral" in [c["namespace"] for c in names["evidence"]["confusableWith"]]
    assert "confusable-name" in [w["code"] for w in verdict["warnings"]]


def test_new_claims_are_added_to_the_look_alike_index_and_a_reorg_rebuilds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-alike index follows the index's events: a new claim is added without reading every
    claim again (that read grew with the registry, once a second on a chain with fast blocks);
    a reorg that takes a claim back rebuilds it."""
    from registry.chain.devchain import throwaway_anvil
    from verifier import services

    full_reads: list[int] = []
    real = services._names_in_claim_order

    def counted(s: object) -> list[str]:
        full_reads.append(1)
        return real(s)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "_names_in_claim_order", counted)
    with throwaway_anvil() as url:
        w3 = Web3(Web3.HTTPProvider(url))
        original, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[1]))
        squatter = RegistryClient(
            w3, original.address, account=Account.from_key(ANVIL_DEV_KEYS[2]), deploy_block=original.deploy_block
        )
        original.claim_namespace("mistral")
        settings = VerifierSettings(
            home=tmp_path / "home", rpc_url=url, registry=original.address,
            deploy_block=original.deploy_block, index_in_background=False,
        )  # fmt: skip
        svc = create_app(settings).state.services

        def later(name: str) -> list[str]:
            svc.indexer.sync_once()
            svc._names_checked = 0.0  # look now, not after the once-a-second pause
            with svc.session() as s:
                return [c["namespace"] for c in svc.name_standing(s, name)[1]]

        assert later("mistral") == [] and len(full_reads) == 1
        before = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        squatter.claim_namespace("m1stral")
        original.claim_namespace("cohere")  # an unrelated claim after it
        assert later("mistral") == ["m1stral"]
        assert len(full_reads) == 1  # added, not read again
        w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]
        for _ in range(4):  # a longer branch without the squatter's claim
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert later("mistral") == []
        assert len(full_reads) == 2  # the claim it had added is gone: rebuilt
