"""The one shape of every verification answer: a verdict, named checks, and the chain view.

* ``verified`` - every check that was asked for, or is on record, passed;
* ``unverified`` - could not prove it (not registered, no identity protocol, a check skipped or
  inconclusive);
* ``mismatch`` - proven false (wrong weights, bad signature, unauthorised key);
* ``revoked`` - the release was revoked by its publisher.

"Unverified" and "mismatch" are different words on purpose: a missing record is not proof of
fraud. A verdict is computed from its checks by :meth:`Verdict.decide`, fail closed: no checks,
any ``error``, or any ``skip`` of a required check never gives ``verified``. A check that is
not ``required`` is information beside the verdict (a look-alike-name warning, "no behavioural
check has run"); every other check is required, so a skipped or inconclusive one (a behavioural
check that could not decide, a manifest that could not be checked) keeps the verdict at
``unverified``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "skip", "error"]
VerdictWord = Literal["verified", "unverified", "mismatch", "revoked"]

EXIT_STATUS: dict[str, int] = {"verified": 0, "mismatch": 1, "unverified": 10, "revoked": 11}
"""CLI exit status per verdict (2 and 3 stay bad input and chain unreachable)."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)
    decisive: Literal["mismatch", "unverified", "revoked"] = "mismatch"
    """What a ``fail`` of this check means for the verdict."""
    required: bool = True
    """False for information beside the verdict: its ``skip`` does not stop ``verified``."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "evidence": self.evidence,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class ChainView:
    chain_id: int
    registry: str
    block: int
    behind: int = 0
    stale: bool = False
    """the chain did not answer: the facts are those of ``block``, however old"""

    def as_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "registry": self.registry,
            "block": self.block,
            "behind": self.behind,
            "stale": self.stale,
        }

    def freshness(self) -> list[Check]:
        """A required ``skip`` while the chain does not answer: the facts are those of ``block``,
        and a revocation or an expiry since then would not show, so nothing is ``verified``."""
        if not self.stale:
            return []
        return [
            Check(
                "chain-fresh",
                "skip",
                f"the chain does not answer: these facts are as of block {self.block}; a revocation or expiry "
                "since then would not show",
            )
        ]


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictWord
    checks: tuple[Check, ...]
    release: str | None
    chain: ChainView | None
    subject: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def decide(checks: list[Check]) -> VerdictWord:
        """Revoked beats mismatch beats unverified; ``verified`` needs at least one pass, no fail
        or error, and no skipped required check."""
        failed = [c for c in checks if c.status == "fail"]
        if any(c.decisive == "revoked" for c in failed):
            return "revoked"
        if any(c.decisive == "mismatch" for c in failed):
            return "mismatch"
        if failed or any(c.status == "error" for c in checks) or not any(c.status == "pass" for c in checks):
            return "unverified"
        if any(c.status == "skip" and c.required for c in checks):
            return "unverified"
        return "verified"

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.verdict]

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "release": self.release,
            "subject": self.subject,
            "checks": [c.as_json() for c in self.checks],
            "chain": self.chain.as_json() if self.chain else None,
        }
