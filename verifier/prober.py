"""Endpoint checks: does the chatbot at a URL prove it is the registered deployment it claims?

:meth:`Prober.probe` talks to the endpoint only through :class:`verifier.guard.GuardedClient`
and returns named checks:

* ``identity`` - the endpoint publishes a well-formed claim (absent: ``unverified``, a missing
  protocol is not proof of fraud); it names the claimed release;
* ``challenge`` - it signs a fresh nonce with the operator key, within the freshness window;
* ``chain`` - the release exists with those weights, the operator key is authorised for it (not
  expired, not revoked), on the chain and registry this verifier follows; a revoked release gives
  ``revoked``;
* ``receipt`` - one real chat completion comes back with a ``Model-Receipt`` signed by the same
  operator over exactly the request and response bytes.

Chain facts come from a :class:`ChainFacts` - the index (the service) or direct contract calls
(the CLI) - so both give the same answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from registry.errors import ModelsealError
from registry.identity import (
    CHALLENGE_PATH,
    RECEIPT_HEADER,
    WELL_KNOWN,
    Claim,
    IdentityError,
    new_nonce,
    split_sse_receipt,
    verify_challenge,
    verify_receipt,
)
from registry.names import ReleaseName
from registry.verdict import Check
from verifier.guard import GuardedClient, OutboundRefused


@dataclass(frozen=True, slots=True)
class ReleaseFact:
    weights_digest: str
    revoked: bool
    revoke_reason: str | None


class ChainFacts(Protocol):
    chain_id: int
    registry: str

    def release(self, name: ReleaseName) -> ReleaseFact | None: ...

    def operator_authorized(self, name: ReleaseName, did: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ProbeResult:
    claim: Claim | None
    checks: tuple[Check, ...]


CHAT_PROBE = {
    "messages": [{"role": "user", "content": "Reply with one word: hello."}],
    "max_tokens": 4,
    "temperature": 0,
    "stream": False,
}


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


class Prober:
    def __init__(self, client: GuardedClient) -> None:
        self.client = client

    def probe(self, url: str, claimed: ReleaseName | None, facts: ChainFacts) -> ProbeResult:
        checks: list[Check] = []
        # 1. the claim
        try:
            resp = self.client.request("GET", _join(url, WELL_KNOWN))
        except OutboundRefused as exc:
            return ProbeResult(None, (Check("identity", "fail", exc.message, {"reason": exc.reason}, "unverified"),))
        if resp.status != 200:
            return ProbeResult(
                None,
                (
                    Check(
                        "identity",
                        "fail",
                        f"no identity endpoint ({WELL_KNOWN} answered {resp.status}): nothing is proven",
                        {"status": resp.status},
                        "unverified",
                    ),
                ),
            )
        try:
            claim = Claim.from_document(json.loads(resp.body))
        except (ValueError, IdentityError) as exc:
            message = exc.message if isinstance(exc, ModelsealError) else "not JSON"
            return ProbeResult(
                None, (Check("identity", "fail", f"unreadable identity claim: {message}", {}, "unverified"),)
            )
        evidence = {"claim": claim.document(), "address": resp.address}
        if claimed is not None and claim.release != claimed:
            checks.append(Check("identity", "fail", f"the endpoint claims {claim.release}, not {claimed}", evidence))
            return ProbeResult(claim, tuple(checks))
        checks.append(Check("identity", "pass", f"claims {claim.release} as operator {claim.operator}", evidence))

        # 2. a fresh challenge
        nonce = new_nonce()
        try:
            answer = self.client.request("POST", _join(url, CHALLENGE_PATH), json={"nonce": nonce})
            signed = verify_challenge(json.loads(answer.body), nonce)
            if signed != claim:
                raise IdentityError("the signed answer claims something else than the identity document")
            checks.append(Check("challenge", "pass", "signed our fresh nonce with the operator key", {"nonce": nonce}))
        except OutboundRefused as exc:
            checks.append(Check("challenge", "error", exc.message, {"reason": exc.reason}))
        except (ValueError, IdentityError) as exc:
            message = exc.message if isinstance(exc, ModelsealError) else "answer is not JSON"
            checks.append(Check("challenge", "fail", f"challenge refused: {message}", {"nonce": nonce}))

        # 3. the chain
        checks.append(self._chain(claim, facts))

        # 4. a real completion and its receipt
        checks.append(self._receipt(url, claim))
        return ProbeResult(claim, tuple(checks))

    def _chain(self, claim: Claim, facts: ChainFacts) -> Check:
        where = {"chainId": facts.chain_id, "registry": facts.registry}
        if claim.chain_id != facts.chain_id or claim.registry.lower() != facts.registry.lower():
            return Check(
                "chain",
                "fail",
                f"the endpoint points at chain {claim.chain_id} registry {claim.registry}; this verifier follows "
                f"chain {facts.chain_id} registry {facts.registry}",
                where,
                "unverified",
            )
        info = facts.release(claim.release)
        if info is None:
            return Check("chain", "fail", f"{claim.release} is not registered: the claim is false", where)
        if info.revoked:
            return Check("chain", "fail", f"{claim.release} was revoked: {info.revoke_reason}", where, "revoked")
        if info.weights_digest != claim.weights_digest:
            return Check("chain", "fail", "the claimed weights digest is not the release's", where)
        if not facts.operator_authorized(claim.release, claim.operator):
            return Check(
                "chain",
                "fail",
                f"{claim.operator} is not an authorised operator of {claim.release} (never, expired or revoked)",
                where,
            )
        return Check("chain", "pass", "release registered and unrevoked; operator authorised and not expired", where)

    def _receipt(self, url: str, claim: Claim) -> Check:
        body = json.dumps({**CHAT_PROBE, "model": claim.release.model}).encode()
        try:
            resp = self.client.request(
                "POST", _join(url, "/v1/chat/completions"), content=body, headers={"content-type": "application/json"}
            )
        except OutboundRefused as exc:
            return Check("receipt", "error", exc.message, {"reason": exc.reason})
        header = resp.headers.get(RECEIPT_HEADER)
        if resp.status != 200:
            return Check("receipt", "fail", f"chat completion answered {resp.status}", {}, "unverified")
        if not header:
            return Check("receipt", "fail", "the chat completion carries no Model-Receipt", {})
        try:
            response_bytes = resp.body
            if header == "sse":
                response_bytes, header = split_sse_receipt(resp.body)
            receipt = verify_receipt(header, body, response_bytes)
        except IdentityError as exc:
            return Check("receipt", "fail", f"receipt refused: {exc.message}", {})
        if receipt.operator != claim.operator or receipt.release != claim.release:
            return Check("receipt", "fail", "the receipt names another operator or release than the claim", {})
        return Check(
            "receipt", "pass", "the completion is signed by the operator over the exact request and response", {}
        )


def facts_from_client(client: Any) -> ChainFacts:
    """Chain facts from direct contract calls (``registry.chain.RegistryClient``), for the CLI."""
    return _ClientFacts(client)


class _ClientFacts:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.chain_id = int(client.chain_id)
        self.registry = str(client.address)

    def release(self, name: ReleaseName) -> ReleaseFact | None:
        info = self.client.release(name)
        if info is None:
            return None
        return ReleaseFact(info.weights_digest.hex(), info.revoked, info.revoke_reason)

    def operator_authorized(self, name: ReleaseName, did: str) -> bool:
        return bool(self.client.is_operator_authorized(name, did))
