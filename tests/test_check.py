"""verifier.check: the one verdict rule of `modelseal check` and `/v1/check`.

The rule is judged here on its own (chain facts given directly), and the two places facts come
from - the index and the contract - are compared on a real anvil: the same release, the same
operator grants and the same chain time. The end-to-end agreement of the CLI and the service,
with real chatbots, is in tests/test_identity_e2e.py.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import inspect
from web3 import Web3

from registry.chain.client import ANVIL_DEV_KEYS, RegistryClient
from registry.identity.protocol import Claim
from registry.names import ReleaseName
from registry.signing.keys import Ed25519Key
from registry.verdict import ChainView, Check
from verifier.app import build_services
from verifier.check import ClientFacts, IndexFacts, OperatorGrant, ReleaseFact, chain_check, judge
from verifier.index.schema import make_engine
from verifier.settings import VerifierSettings

REL = ReleaseName("acme", "chat", "1.0")
WEIGHTS = "ab" * 32
REGISTRY = "0x" + "11" * 20
VIEW = ChainView(31337, REGISTRY, 100)
OPERATOR = Ed25519Key.generate().did


@dataclass
class GivenFacts:
    """Chain facts stated by the test (the rule is a pure function of them)."""

    now: int
    grants: list[OperatorGrant] = field(default_factory=list)
    fact: ReleaseFact | None = field(default_factory=lambda: ReleaseFact("0x01", WEIGHTS, 0, None))

    def view(self) -> ChainView:
        return VIEW

    def chain_time(self) -> int:
        return self.now

    def release(self, name: ReleaseName) -> ReleaseFact | None:
        return self.fact

    def operator_grants(self, name: ReleaseName, did: str) -> list[OperatorGrant]:
        return self.grants

    def confusions(self, namespace: str) -> list[dict[str, Any]]:
        return []


HERE = "https://chat.acme.example"
CLAIM = Claim(REL, WEIGHTS, OPERATOR, VIEW.chain_id, REGISTRY, (HERE,))


def test_operator_expiry_is_judged_by_chain_time_not_the_wall_clock() -> None:
    wall = int(time.time())
    far_future = wall + 10**6
    # The chain's clock is past the expiry, this machine's is not: expired.
    ahead = chain_check(CLAIM, GivenFacts(far_future + 1, [OperatorGrant("acme/chat", far_future, 0)]), VIEW, HERE)
    assert ahead.status == "fail" and "expired at chain time" in ahead.detail
    assert ahead.evidence["chainTime"] == far_future + 1
    # A chain whose clock lags behind this machine's (expiry already past here): still authorised.
    past = wall - 3600
    behind = chain_check(CLAIM, GivenFacts(past - 60, [OperatorGrant("acme/chat", past, 0)]), VIEW, HERE)
    assert behind.status == "pass", behind
    # The end of the window is excluded, as in the contract (expiresAt > block.timestamp).
    at_end = chain_check(CLAIM, GivenFacts(past, [OperatorGrant("acme/chat", past, 0)]), VIEW, HERE)
    assert at_end.status == "fail"


def test_any_active_grant_authorises_and_a_revoked_one_never_does() -> None:
    now = 1_000_000
    model_wide = OperatorGrant("acme/chat", now + 10, now - 5)  # revoked
    release = OperatorGrant("acme/chat/1.0", now + 10, 0)
    assert chain_check(CLAIM, GivenFacts(now, [model_wide]), VIEW, HERE).status == "fail"
    assert chain_check(CLAIM, GivenFacts(now, [model_wide, release]), VIEW, HERE).status == "pass"
    assert "never authorised, or revoked" in chain_check(CLAIM, GivenFacts(now, []), VIEW, HERE).detail


def test_a_pinned_authorisation_holds_only_at_its_origins() -> None:
    now = 1_000_000
    pinned = OperatorGrant("acme/chat", now + 10, 0, (HERE,))
    assert chain_check(CLAIM, GivenFacts(now, [pinned]), VIEW, HERE).status == "pass"
    elsewhere = chain_check(CLAIM, GivenFacts(now, [pinned]), VIEW, "https://copy.example")
    assert elsewhere.status == "fail" and "pinned" in elsewhere.detail and elsewhere.decisive == "mismatch"
    # an unpinned active grant beside it allows any origin the key signs for
    loose = OperatorGrant("acme/chat/1.0", now + 10, 0)
    assert chain_check(CLAIM, GivenFacts(now, [pinned, loose]), VIEW, "https://copy.example").status == "pass"
    # a pin on an expired grant does not help
    stale = OperatorGrant("acme/chat/1.0", now - 1, 0, ("https://copy.example",))
    assert chain_check(CLAIM, GivenFacts(now, [pinned, stale]), VIEW, "https://copy.example").status == "fail"


def test_claim_against_the_chain_fails_closed() -> None:
    grant = [OperatorGrant("acme/chat", 2_000_000, 0)]
    other_chain = Claim(REL, WEIGHTS, OPERATOR, 1, REGISTRY, (HERE,))
    c = chain_check(other_chain, GivenFacts(1_000_000, grant), VIEW, HERE)
    assert (c.status, c.decisive) == ("fail", "unverified")
    c = chain_check(
        Claim(REL, "cd" * 32, OPERATOR, VIEW.chain_id, REGISTRY, (HERE,)), GivenFacts(1_000_000, grant), VIEW, HERE
    )
    assert c.status == "fail" and "weights digest" in c.detail
    revoked = GivenFacts(1_000_000, grant, ReleaseFact("0x01", WEIGHTS, 5, "leaked"))
    assert chain_check(CLAIM, revoked, VIEW, HERE).decisive == "revoked"
    assert chain_check(CLAIM, GivenFacts(1_000_000, grant, None), VIEW, HERE).status == "fail"


def test_a_registered_release_alone_is_never_verified() -> None:
    fact = ReleaseFact("0x01", WEIGHTS, 0, None)
    alone = judge("https://chat.example", REL, fact, [], VIEW).verdict
    assert alone.verdict == "unverified"
    assert [c.name for c in alone.checks] == ["release", "not-revoked", "identity"]
    proven = [Check("identity", "pass", "claims it"), Check("chain", "pass", "ok")]
    assert judge("https://chat.example", REL, fact, [], VIEW, proven).verdict.verdict == "verified"
    revoked = ReleaseFact("0x01", WEIGHTS, 5, "withdrawn")
    assert judge("https://chat.example", REL, revoked, [], VIEW, proven).verdict.verdict == "revoked"
    missing = judge("https://chat.example", REL, None, [], VIEW, proven).verdict
    assert missing.verdict == "unverified" and missing.subject["releaseId"] is None


@pytest.mark.slow
def test_index_and_contract_give_the_same_facts(anvil_url: str, tmp_path: Path) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil_url))
    client, _ = RegistryClient.deploy(w3, Account.from_key(ANVIL_DEV_KEYS[7]))
    publisher, operator, stranger = (Ed25519Key.generate().did for _ in range(3))
    ns = "facts-" + os.urandom(3).hex()
    rel, other = ReleaseName(ns, "chat", "1.0"), ReleaseName(ns, "chat", "2.0")
    client.claim_namespace(ns)
    client.add_signer(ns, publisher)
    client.publish(rel, os.urandom(32), os.urandom(32), publisher)
    client.publish(other, os.urandom(32), os.urandom(32), publisher)
    client.authorize_operator(ns, "chat", None, operator, client.now() + 3600, (HERE, "http://127.0.0.1:8081"))
    client.authorize_operator(ns, "chat", "1.0", operator, client.now() + 60)
    client.revoke_operator(ns, "chat", "1.0", operator)
    client.revoke(other, "superseded")
    settings = VerifierSettings(
        home=tmp_path, rpc_url=anvil_url, registry=client.address, deploy_block=client.deploy_block,
        index_in_background=False,
    )  # fmt: skip
    svc = build_services(settings)
    svc.indexer.sync_once()
    index, chain = IndexFacts(svc), ClientFacts(client)
    assert index.view().block == chain.view().block  # the index is at the head
    assert index.chain_time() == chain.chain_time() == int(w3.eth.get_block(chain.view().block)["timestamp"])
    for name in (rel, other, ReleaseName(ns, "chat", "3.0")):
        a, b = index.release(name), chain.release(name)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert (a.release_id, a.weights_digest, a.revoked_at, a.revoke_reason) == (
                b.release_id, b.weights_digest, b.revoked_at, b.revoke_reason,
            )  # fmt: skip
    for did in (operator, stranger):
        assert sorted(index.operator_grants(rel, did), key=str) == sorted(chain.operator_grants(rel, did), key=str)
    grants = {g.scope: g for g in index.operator_grants(rel, operator)}
    assert grants[f"{ns}/chat"].origins == (HERE, "http://127.0.0.1:8081")
    assert grants[f"{ns}/chat/1.0"].origins == () and grants[f"{ns}/chat/1.0"].revoked_at > 0
    assert index.confusions(ns) == chain.confusions(ns) == []


def test_an_index_written_before_chain_time_was_recorded_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE checkpoint (id INTEGER PRIMARY KEY, chain_id BIGINT, registry_address VARCHAR(42), "
            "block_number BIGINT, block_hash VARCHAR(66))"
        )
        conn.execute("INSERT INTO checkpoint VALUES (1, 31337, '0x00', 7, '0xaa')")
    engine = make_engine(f"sqlite:///{db}")
    assert "block_time" in {c["name"] for c in inspect(engine).get_columns("checkpoint")}
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT block_number, block_time FROM checkpoint").one()
    assert tuple(row) == (7, None)  # kept; the indexer fills the time at its next step


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("https://chat.example.com/v1", "https://chat.example.com"),
        ("https://chat.example.com/v1/chat/completions", "https://chat.example.com"),
        ("https://chat.example.com/v1/completions/", "https://chat.example.com"),
        ("https://example.com/bot/v1?x=1#y", "https://example.com/bot"),
        ("https://example.com/v1beta", "https://example.com/v1beta"),
    ],
)
def test_a_chatbot_is_found_from_any_url_an_app_knows_it_by(url: str, base: str) -> None:
    from verifier.probe import deployment_base

    assert deployment_base(url) == base


# --- warnings beside the verdict ---------------------------------------------------------------

PUBLIC = ChainView(1, REGISTRY, 100)
IDENTIFIED = [
    Check("identity", "pass", "claims it"),
    Check("challenge", "pass", "signed"),
    Check("chain", "pass", "authorised"),
    Check("receipt", "pass", "signed"),
]
FACT = ReleaseFact("0x01", WEIGHTS, 0, None)


def _codes(verdict: Any) -> list[str]:
    return [w["code"] for w in verdict.as_json()["warnings"]]


def test_a_clean_check_on_a_public_chain_has_no_warnings_but_behaviour() -> None:
    v = judge("https://chat.example", REL, FACT, [], PUBLIC, [*IDENTIFIED, Check("behaviour", "pass", "same")]).verdict
    assert v.verdict == "verified" and _codes(v) == []
    v = judge("https://chat.example", REL, FACT, [], PUBLIC, IDENTIFIED).verdict  # behaviour never asked for
    assert v.verdict == "verified" and _codes(v) == ["behaviour-not-established"]
    assert v.as_json()["warnings"][0]["check"] == "behaviour"


@pytest.mark.parametrize("status", ["skip", "error"])
def test_a_behaviour_check_that_did_not_decide_is_a_warning(status: str) -> None:
    behaviour = Check("behaviour", status, "could not decide", required=False)
    v = judge("https://chat.example", REL, FACT, [], PUBLIC, [*IDENTIFIED, behaviour]).verdict
    assert "behaviour-not-established" in _codes(v)
    mismatch = judge("https://x.example", REL, FACT, [], PUBLIC, [*IDENTIFIED, Check("behaviour", "fail", "d")])
    assert mismatch.verdict.verdict == "mismatch" and _codes(mismatch.verdict) == []  # the verdict says it


def test_a_development_chain_is_warned_about_and_named() -> None:
    v = judge("https://chat.example", REL, FACT, [], VIEW, [*IDENTIFIED, Check("behaviour", "pass", "ok")]).verdict
    assert v.verdict == "verified" and _codes(v) == ["dev-chain"]
    chain = v.as_json()["chain"]
    assert chain["development"] is True and chain["name"].startswith("development chain")
    assert PUBLIC.as_json()["name"] == "Ethereum" and ChainView(999_999_999, REGISTRY, 1).as_json()["name"] == (
        "chain 999999999"
    )


@pytest.mark.parametrize(
    ("view", "warned"),
    [
        (ChainView(1, REGISTRY, 100, behind=3), False),
        (ChainView(1, REGISTRY, 100, behind=12 + 64, confirmations=12), False),  # confirmations are not lag
        (ChainView(1, REGISTRY, 100, behind=12 + 65, confirmations=12), True),
        (ChainView(1, REGISTRY, 100, stale=True), True),
    ],
)
def test_a_stale_or_lagging_index_is_a_warning_and_never_verified(view: ChainView, warned: bool) -> None:
    v = judge("https://chat.example", REL, FACT, [], view, [*IDENTIFIED, Check("behaviour", "pass", "ok")]).verdict
    assert ("stale-index" in _codes(v)) is warned
    assert (v.verdict == "verified") is not warned
    assert _codes(v).count("stale-index") <= 1  # one warning per code, though a check and the view both raise it


def test_a_lookalike_name_warns_beside_a_verified_verdict() -> None:
    confusions = [{"namespace": "acme-corp", "reason": "affix", "detail": "acme + corp"}]
    v = judge("https://chat.example", REL, FACT, confusions, PUBLIC, [*IDENTIFIED, Check("behaviour", "pass", "ok")])
    assert v.verdict.verdict == "verified" and _codes(v.verdict) == ["confusable-name"]
    assert v.verdict.as_json()["warnings"][0]["check"] == "names"


def test_relayed_answers_are_named_as_such() -> None:
    import json

    from verifier.probe import Prober

    class Answers:
        """An endpoint whose claim says it serves elsewhere: a relay of the genuine operator."""

        def request(self, method: str, url: str, **_: Any) -> Any:
            claim = Claim(REL, WEIGHTS, OPERATOR, 31337, REGISTRY, ("https://genuine.example",))
            body = json.dumps(claim.document()).encode()
            return type("R", (), {"status": 200, "url": url, "body": body, "address": "203.0.113.9", "headers": {}})()

    probe = Prober(Answers()).probe("https://relay.example", REL, lambda c, o: Check("chain", "pass", "ok"))  # type: ignore[arg-type]
    v = judge("https://relay.example", REL, FACT, [], PUBLIC, list(probe.checks)).verdict
    assert v.verdict == "mismatch" and _codes(v) == ["relayed-answers"]
    assert v.as_json()["warnings"][0]["check"] == "challenge"
