"""Receipt audits: a user's kept answer, replayed on the registered weights.

A user who kept a request, the answer and its ``Model-Receipt`` holds the operator's signed
statement that release R answered exactly that. When the request was deterministic (temperature
0, one answer, not streamed), the verifier can replay it on its reference weights and say whether
the registered weights give that answer: ordinary traffic becomes the probe, and the operator
cannot tell an audited answer from any other, because the audit happens afterwards.

:func:`audit_receipt` answers ``match``, ``mismatch`` or ``not-auditable`` (with the reason), and
a mismatch comes with the evidence: the operator's signed receipt (decoded), the hashes of the
request and answer it signs, the answer's text, and the replay's.

The comparison follows :mod:`verifier.behaviour`: when the receipt names the engine build the
verifier replays with, a single answer is held to the exact rule (the same text; log-probabilities,
when the answer has them, within 1e-6); otherwise one answer is a mismatch only when its
log-probabilities, on the tokens both sides generated alike, differ by more than
:data:`AUDIT_TOLERANCE_GAP` nats per token on average: far beyond anything measured between honest
engine builds, since a single answer must carry the accusation alone. A smaller difference, or
another text without log-probabilities, is ``not-auditable`` from another build (a near tie can
flip between builds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from registry import jsontext
from registry.errors import InputError
from registry.identity.protocol import decode_receipt, sha256_hex, verify_receipt
from verifier.behaviour import (
    CANNOT_EXCLUDE,
    EXACT,
    TOLERANCE_GAP,
    compare,
    comparison_for,
    engine_version,
    parse_chat,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from verifier.behaviour import Replayer
    from verifier.check import ReleaseFact

AuditDecision = Literal["match", "mismatch", "not-auditable"]

MAX_AUDIT_TOKENS = 512
"""Longest answer (in ``max_tokens``) an audit replays."""
MAX_AUDIT_BYTES = 1_000_000
"""Largest request or answer an audit reads."""

AUDIT_TOLERANCE_GAP = 0.5
"""Mean log-probability gap (nats per token) beyond which one answer from another engine build is a
mismatch: above every honest other-build answer measured (docs/benchmarks.md), where
:data:`~verifier.behaviour.TOLERANCE_GAP` is the per-answer line of a check that weighs many."""


@dataclass(frozen=True)
class Audit:
    decision: AuditDecision
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "detail": self.detail, "evidence": self.evidence}


def _not_auditable(why: str, evidence: dict[str, Any]) -> Audit:
    return Audit("not-auditable", why, evidence)


def deterministic_request(request: Any) -> str | None:
    """Why this chat request cannot be replayed exactly (None when it can)."""
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return "the request is not a chat completion request (no messages)"
    if request.get("temperature") != 0:
        return "the request was not deterministic: audits need temperature 0 (the default is 1)"
    if request.get("stream"):
        return "the request was streamed; audits replay whole answers"
    if request.get("n", 1) != 1:
        return "the request asked for several answers"
    if any(k in request for k in ("tools", "functions", "response_format", "grammar", "logit_bias")):
        return "the request uses tools, a response format or logit biases, which an audit does not replay"
    max_tokens = request.get("max_tokens", 16)
    if not isinstance(max_tokens, int) or not 0 < max_tokens <= MAX_AUDIT_TOKENS:
        return f"audits replay answers of at most {MAX_AUDIT_TOKENS} tokens"
    return None


def audit_receipt(
    request_body: bytes,
    response_body: bytes,
    receipt_header: str,
    release_fact: Callable[[Any], ReleaseFact | None],
    reference_for: Callable[[str], Path | None],
    replayer: Replayer,
) -> Audit:
    """Audit one kept answer. ``release_fact(name)`` reads the chain (index or contract);
    ``reference_for(weights digest)`` gives the verifier's checked reference file, if any.
    A receipt that does not verify raises :class:`~registry.errors.IdentityError`."""
    receipt = verify_receipt(receipt_header, request_body, response_body)
    evidence: dict[str, Any] = {
        "receipt": decode_receipt(receipt_header),
        "requestSha256": sha256_hex(request_body),
        "responseSha256": sha256_hex(response_body),
        "release": str(receipt.release),
        "operator": receipt.operator,
    }
    fact = release_fact(receipt.release)
    if fact is None:
        return _not_auditable(f"{receipt.release} is not registered on the chain this verifier follows", evidence)
    if fact.weights_digest != receipt.weights_digest:
        return Audit(
            "mismatch",
            f"the operator signed that {receipt.release} has weights {receipt.weights_digest[:16]}..., but the "
            f"chain records {fact.weights_digest[:16]}...",
            evidence,
        )
    try:
        request = jsontext.loads(request_body, what="the request", max_bytes=MAX_AUDIT_BYTES)
        answer = parse_chat(jsontext.loads(response_body, what="the answer", max_bytes=MAX_AUDIT_BYTES))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, InputError):
        return _not_auditable("the request or the answer is not an OpenAI chat completion in JSON", evidence)
    why = deterministic_request(request)
    if why is not None:
        return _not_auditable(why, evidence)
    reference = reference_for(fact.weights_digest)
    if reference is None:
        return _not_auditable("this verifier holds no reference weights for the release", evidence)
    ours = engine_version()
    comparison = comparison_for(receipt.engine, ours)
    replay = replayer.generate(reference, {**request, "model": request.get("model") or receipt.release.model})
    result = compare("(the user's request)", answer, replay)
    evidence |= {
        "comparison": comparison,
        "engine": ours,
        "declaredEngine": receipt.engine,
        "answerText": answer.text,
        "replayText": replay.text,
        "maxLogprobGap": result.max_gap,
        "meanLogprobGap": result.mean_gap,
        "cannotExclude": CANNOT_EXCLUDE[(comparison, answer.logprobs is None)],
    }
    if comparison == "exact":
        if result.max_gap is not None and result.max_gap > EXACT:
            return Audit(
                "mismatch",
                f"the registered weights do not give this answer: log-probabilities differ by {result.max_gap:.3g} "
                f"nats on tokens both generated alike (limit {EXACT:g} on the engine build the operator declares)",
                evidence,
            )
        if not result.same_text:
            return Audit(
                "mismatch",
                "the registered weights, replayed on the engine build the operator declares, give another answer "
                "to this request (an honest endpoint on that build reproduces it bit for bit)",
                evidence,
            )
    elif result.mean_gap is not None and result.mean_gap > AUDIT_TOLERANCE_GAP:
        return Audit(
            "mismatch",
            f"the registered weights do not give this answer: log-probabilities differ by {result.mean_gap:.3g} "
            f"nats per token on average on tokens both generated alike (limit {AUDIT_TOLERANCE_GAP:g} for one answer "
            "from another engine build)",
            evidence,
        )
    elif not result.same_text or (result.mean_gap is not None and result.mean_gap > TOLERANCE_GAP):
        return _not_auditable(
            "the replay differs, but not by more than engine builds can differ; the operator declares no build "
            "this verifier has, so one answer is not evidence enough",
            evidence,
        )
    how = "exactly" if comparison == "exact" and answer.logprobs is not None else "with the same text"
    return Audit("match", f"the registered weights give this answer {how} ({comparison} comparison)", evidence)
