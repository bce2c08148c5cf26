"""Endpoint checks: does the chatbot at a URL prove it is the registered deployment it claims?

:meth:`Prober.probe` talks to the endpoint only through :class:`verifier.guard.GuardedClient`
and returns named checks:

* ``identity`` - the endpoint publishes a well-formed claim (absent: ``unverified``, a missing
  protocol is not proof of fraud); it names the claimed release;
* ``challenge`` - it signs a fresh nonce with the operator key, within the freshness window;
* ``chain`` - the claim judged against the chain, by the caller's function (the verdict rule
  :func:`verifier.check.chain_check`), placed between the challenge and the receipt;
* ``receipt`` - one real chat completion comes back with a ``Model-Receipt`` signed by the same
  operator over exactly the request and response bytes.

The prober knows nothing of the chain: :func:`verifier.check.check_endpoint` runs it and judges
the result, the same way for the CLI and the service.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from registry.errors import IdentityError, ModelsealError
from registry.identity.protocol import (
    CHALLENGE_PATH,
    RECEIPT_HEADER,
    WELL_KNOWN,
    Claim,
    new_nonce,
    split_sse_receipt,
    verify_challenge,
    verify_receipt,
)
from registry.names import ReleaseName
from registry.verdict import Check
from verifier.errors import OutboundRefused
from verifier.guard import GuardedClient


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

    def probe(self, url: str, claimed: ReleaseName | None, judge_chain: Callable[[Claim], Check]) -> ProbeResult:
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
        checks.append(judge_chain(claim))

        # 4. a real completion and its receipt
        checks.append(self._receipt(url, claim))
        return ProbeResult(claim, tuple(checks))

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
