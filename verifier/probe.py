"""Endpoint checks: does the chatbot at a URL prove it is the registered deployment it claims?

:meth:`Prober.probe` talks to the endpoint only through :class:`verifier.guard.GuardedClient`
and returns named checks:

* ``identity`` - the endpoint publishes a well-formed ``modelseal/identity/v2`` claim (absent or
  an earlier version: ``unverified``, a missing protocol is not proof of fraud); it names the
  claimed release;
* ``challenge`` - the **origin** the verifier reached (after redirects) is one the operator
  serves at, and the operator signs a fresh nonce *for that origin* within the freshness window.
  A site relaying to a genuine operator elsewhere fails here (``mismatch``): the operator
  refuses to sign for the relay's origin, or signs for its own, which is not the one reached;
* ``chain`` - the claim judged against the chain for that origin, by the caller's function (the
  verdict rule :func:`verifier.check.chain_check`: authorisation, expiry, pinned origins);
* ``receipt`` - one real chat completion, to a question drawn for this check, comes back with a
  ``Model-Receipt`` signed by the same operator over exactly the request and response bytes, with
  a time inside the freshness window (a recorded pair cannot be replayed).

The prober knows nothing of the chain: :func:`verifier.check.check_endpoint` runs it and judges
the result, the same way for the CLI and the service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry import jsontext
from registry.errors import IdentityError, ModelsealError
from registry.identity.protocol import (
    CHALLENGE_PATH,
    FRESHNESS_SECONDS,
    MAX_CLAIM_BYTES,
    RECEIPT_HEADER,
    WELL_KNOWN,
    Claim,
    check_receipt_time,
    new_nonce,
    origin_of,
    sha256_hex,
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


_QUESTIONS = (
    "What is {a} plus {b}?",
    "What is {a} minus {b}?",
    "Is {a} larger than {b}? Answer yes or no.",
    "Write the number {a} in words.",
    "What is {a} times {small}?",
)


def fresh_chat_request(model: str) -> bytes:
    """The body of the probe's chat request: a short question drawn at random for this check (over
    ten million possibilities), so a response and receipt recorded earlier never fit it."""
    import secrets

    question = secrets.choice(_QUESTIONS).format(
        a=secrets.randbelow(9_900) + 100, b=secrets.randbelow(9_900) + 100, small=secrets.randbelow(8) + 2
    )
    doc = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 8,
        "temperature": 0,
        "stream": False,
    }
    return json.dumps(doc).encode()


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


_API_SUFFIXES = ("/v1/chat/completions", "/v1/completions", "/v1")


MAX_URL = 2048
"""The longest chatbot URL a check accepts."""


def chatbot_url(url: str) -> str:
    """A URL a check may contact: http(s), at most :data:`MAX_URL` characters, with a host and a
    port that parse (``http://a]b``, ``http://h:port/`` are refused), no user name or password.
    Raises :class:`registry.errors.InputError` with the reason. The API, the page and
    ``modelseal check`` all ask this one question."""
    from urllib.parse import urlsplit

    from registry.errors import InputError

    if len(url) > MAX_URL:
        raise InputError(f"the URL is too long ({len(url)} characters; at most {MAX_URL})")
    if not re.match(r"https?://", url, re.IGNORECASE):
        raise InputError(f"{url[:200]!r} is not an http(s) URL", hint="give the chatbot's address: https://...")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise InputError(f"{url[:200]!r} is not a URL: {exc}") from None
    if not parts.hostname:
        raise InputError(f"{url[:200]!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{url[:200]!r} carries a user name or password", hint="give the chatbot's plain address")
    return url


def deployment_base(url: str) -> str:
    """Where a chatbot's identity endpoints are, from any URL an app knows it by: its address, its
    OpenAI ``base_url`` (``.../v1``) or its chat-completions URL. Query and fragment are dropped."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _relayed(origin: str, served: tuple[str, ...]) -> str:
    return (
        f"this address ({origin}) is not one the operator serves at: its identity answers are relayed from the "
        f"genuine operator at {', '.join(served)}"
    )


class Prober:
    """Talks to one endpoint: its claim, a fresh challenge for the origin actually reached, and one
    real chat completion with its receipt."""

    def __init__(self, client: GuardedClient, *, receipt_window: int = FRESHNESS_SECONDS) -> None:
        self.client = client
        self.receipt_window = receipt_window

    def probe(self, url: str, claimed: ReleaseName | None, judge_chain: Callable[[Claim, str], Check]) -> ProbeResult:
        """The endpoint's checks; ``judge_chain(claim, origin)`` judges the claim against the chain
        for the origin reached (placed between the challenge and the receipt)."""
        checks: list[Check] = []
        # 1. the claim, and the origin it was fetched from (after redirects)
        try:
            resp = self.client.request("GET", _join(deployment_base(url), WELL_KNOWN))
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
            origin = origin_of(resp.url)
            if not resp.url.split("?")[0].endswith(WELL_KNOWN):
                raise IdentityError(f"the identity endpoint redirected to {resp.url}, not to a {WELL_KNOWN}")
            base = resp.url.split("?")[0][: -len(WELL_KNOWN)]
            claim = Claim.from_document(
                jsontext.loads(resp.body, what="the identity claim", error=IdentityError, max_bytes=MAX_CLAIM_BYTES)
            )
        except (ValueError, ModelsealError) as exc:
            message = exc.message if isinstance(exc, ModelsealError) else "not JSON"
            return ProbeResult(
                None, (Check("identity", "fail", f"unreadable identity claim: {message}", {}, "unverified"),)
            )
        evidence = {"claim": claim.document(), "address": resp.address, "origin": origin}
        if claimed is not None and claim.release != claimed:
            checks.append(Check("identity", "fail", f"the endpoint claims {claim.release}, not {claimed}", evidence))
            return ProbeResult(claim, tuple(checks))
        checks.append(Check("identity", "pass", f"claims {claim.release} as operator {claim.operator}", evidence))

        # 2. a fresh challenge, for the origin reached
        checks.append(self._challenge(base, origin, claim))
        if checks[-1].status != "pass":
            return ProbeResult(claim, tuple(checks))

        # 3. the chain
        checks.append(judge_chain(claim, origin))

        # 4. a real completion and its receipt
        checks.append(self._receipt(base, claim))
        return ProbeResult(claim, tuple(checks))

    def _challenge(self, base: str, origin: str, claim: Claim) -> Check:
        nonce = new_nonce()
        evidence: dict[str, Any] = {"nonce": nonce, "origin": origin, "servedOrigins": list(claim.origins)}
        if origin not in claim.origins:  # it says so itself: no need to ask
            return Check("challenge", "fail", _relayed(origin, claim.origins), evidence, warning="relayed-answers")
        try:
            answer = self.client.request("POST", base + CHALLENGE_PATH, json={"nonce": nonce, "origin": origin})
        except OutboundRefused as exc:
            return Check("challenge", "error", exc.message, {**evidence, "reason": exc.reason})
        if origin_of(answer.url) != origin:
            return Check("challenge", "fail", f"the challenge was redirected to {answer.url}", evidence)
        try:
            doc = jsontext.loads(answer.body, what="the challenge answer", error=IdentityError, max_bytes=16384)
        except IdentityError as exc:
            return Check("challenge", "fail", f"challenge refused ({answer.status}): {exc.message}", evidence)
        if answer.status == 403 and isinstance(doc, dict):
            return Check(
                "challenge",
                "fail",
                _relayed(origin, claim.origins),
                {**evidence, "answer": doc},
                warning="relayed-answers",
            )
        try:
            signed = verify_challenge(doc, nonce)
        except IdentityError as exc:
            return Check("challenge", "fail", f"challenge refused: {exc.message}", evidence)
        if signed.origin != origin:
            return Check(
                "challenge",
                "fail",
                _relayed(origin, signed.claim.origins) + f" (the operator signed for {signed.origin})",
                {**evidence, "signedOrigin": signed.origin},
                warning="relayed-answers",
            )
        if signed.claim != claim:
            return Check(
                "challenge", "fail", "the signed answer claims something else than the identity document", evidence
            )
        return Check("challenge", "pass", f"signed our fresh nonce for {origin} with the operator key", evidence)

    def _receipt(self, base: str, claim: Claim) -> Check:
        body = fresh_chat_request(claim.release.model)
        evidence: dict[str, Any] = {"requestSha256": sha256_hex(body)}
        try:
            resp = self.client.request(
                "POST", base + "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
            )
        except OutboundRefused as exc:
            return Check("receipt", "error", exc.message, {**evidence, "reason": exc.reason})
        header = resp.headers.get(RECEIPT_HEADER)
        if resp.status != 200:
            return Check("receipt", "fail", f"chat completion answered {resp.status}", evidence, "unverified")
        if not header:
            return Check("receipt", "fail", "the chat completion carries no Model-Receipt", evidence)
        try:
            response_bytes = resp.body
            if header == "sse":
                response_bytes, header = split_sse_receipt(resp.body)
            receipt = verify_receipt(header, body, response_bytes)
            evidence["receiptTime"] = receipt.time
            check_receipt_time(receipt, window=self.receipt_window)
        except IdentityError as exc:
            return Check("receipt", "fail", f"receipt refused: {exc.message}", evidence)
        if receipt.operator != claim.operator or receipt.release != claim.release:
            return Check("receipt", "fail", "the receipt names another operator or release than the claim", evidence)
        return Check(
            "receipt",
            "pass",
            "the completion to a question drawn for this check is signed by the operator over the exact request "
            "and response, just now",
            evidence,
        )
