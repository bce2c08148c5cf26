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

Beside the verdict, :meth:`Verdict.warnings` lists what a person must be told even when the
verdict is ``verified``, each with a machine-readable code (:data:`WARNING_CODES`): a client that
reads only ``verdict`` and ``warnings`` misses nothing that matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from registry.chains import chain_name, is_development

Status = Literal["pass", "fail", "skip", "error"]
VerdictWord = Literal["verified", "unverified", "mismatch", "revoked"]
WarningCode = Literal["confusable-name", "relayed-answers", "stale-index", "behaviour-not-established", "dev-chain"]
WARNING_CODES: Final[dict[str, str]] = {
    "confusable-name": "the namespace could be mistaken for one registered before it",
    "relayed-answers": "this address relays the answers of an operator that serves elsewhere",
    "stale-index": "the chain did not answer, or the index is far behind it: the facts may be old",
    "behaviour-not-established": "no behavioural check has shown that the chatbot behaves like the registered weights",
    "dev-chain": "the facts come from a development chain, which anyone can run and rewrite",
}
"""Every warning code, with what it means (docs/app-stores.md lists the same)."""

LAG_BLOCKS: Final = 64
"""An index more than this many blocks (beyond its confirmations) behind the chain head is stale
(on Ethereum, about 13 minutes)."""

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
    warning: WarningCode | None = None
    """The warning this check's result raises (listed in :meth:`Verdict.warnings`)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "evidence": self.evidence,
            "required": self.required,
            "warning": self.warning,
        }


@dataclass(frozen=True, slots=True)
class ChainView:
    chain_id: int
    registry: str
    block: int
    behind: int = 0
    stale: bool = False
    """the chain did not answer: the facts are those of ``block``, however old"""
    confirmations: int = 0
    """blocks the index stays below the head on purpose (not counted as lag)"""

    @property
    def lagging(self) -> bool:
        """The index is more than :data:`LAG_BLOCKS` blocks behind where it should be."""
        return self.behind > self.confirmations + LAG_BLOCKS

    def as_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "name": chain_name(self.chain_id),
            "development": is_development(self.chain_id),
            "registry": self.registry,
            "block": self.block,
            "behind": self.behind,
            "stale": self.stale,
        }

    def freshness(self) -> list[Check]:
        """A required ``skip`` while the chain does not answer, or while the index is far behind
        it: the facts are those of ``block``, and a revocation or an expiry since then would not
        show, so nothing is ``verified``."""
        if self.stale:
            why = f"the chain does not answer: these facts are as of block {self.block}"
        elif self.lagging:
            why = f"the index is {self.behind} blocks behind the chain head: these facts are as of block {self.block}"
        else:
            return []
        return [
            Check(
                "chain-fresh",
                "skip",
                f"{why}; a revocation or expiry since then would not show",
                warning="stale-index",
            )
        ]

    def warnings(self) -> list[dict[str, Any]]:
        """The chain view's own warnings: a stale index (also a ``chain-fresh`` check), a
        development chain."""
        found = []
        if self.stale or self.lagging:
            found.append(_warning("stale-index", self.freshness()[0].detail, "chain-fresh"))
        if is_development(self.chain_id):
            found.append(
                _warning(
                    "dev-chain",
                    f"these facts come from chain {self.chain_id}, a {chain_name(self.chain_id)}, which anyone "
                    "can run and rewrite: they prove nothing to others",
                )
            )
        return found


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

    def warnings(self) -> list[dict[str, Any]]:
        """What must be shown next to the verdict, whatever it is: one entry per warning code
        (``code``, ``message`` and the ``check`` that raised it, if any), checks first, then the
        chain view's."""
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for c in self.checks:
            if c.warning is not None and c.warning not in seen:
                found.append(_warning(c.warning, c.detail, c.name))
                seen.add(c.warning)
        for w in self.chain.warnings() if self.chain else []:
            if w["code"] not in seen:
                found.append(w)
                seen.add(w["code"])
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "warnings": self.warnings(),
            "release": self.release,
            "subject": self.subject,
            "checks": [c.as_json() for c in self.checks],
            "chain": self.chain.as_json() if self.chain else None,
        }


def names_check(confusions: list[dict[str, Any]]) -> Check | None:
    """The ``names`` check of any verdict about a release: information beside the verdict, and the
    ``confusable-name`` warning, when its namespace could be mistaken for one registered before it
    (``confusions``: ``{"namespace", "reason", "detail"}`` of :meth:`ConfusableIndex.standing`'s
    ``earlier``); ``None`` when there is nothing to say."""
    if not confusions:
        return None
    return Check(
        "names",
        "skip",
        "warning: the namespace could be mistaken for one registered before it: "
        + ", ".join(str(c["namespace"]) for c in confusions),
        {"confusableWith": confusions},
        required=False,
        warning="confusable-name",
    )


def _warning(code: WarningCode, message: str, check: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "check": check}
