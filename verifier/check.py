"""The one verdict rule for a chatbot endpoint: ``modelseal check`` and ``GET /v1/check`` both run it.

Is the chatbot at a URL really release R, authorised, unrevoked, and (when asked) does it behave
like the registered weights? :func:`check_endpoint` answers with one
:class:`~registry.verdict.Verdict`, the same way for every caller. Callers differ only in where
chain facts come from, a :class:`Facts`:

* :class:`IndexFacts` - the verifier's index (the service: fast, as fresh as the index);
* :class:`ClientFacts` - direct contract calls (the CLI: no verifier needed).

The checks, in order:

* ``release`` - the subject release (given, or named by the endpoint's claim) is registered;
* ``not-revoked`` - it is not revoked (a fail gives ``revoked``);
* ``names`` - a warning (``skip``) when its namespace could be mistaken for another;
* ``identity``, ``challenge``, ``receipt`` - the endpoint's answers (:mod:`verifier.probe`);
* ``chain`` - what the claim says against the chain: same chain and registry, the release has the
  claimed weights, and the operator key holds an authorisation that is neither revoked nor
  expired **at chain time** (:meth:`Facts.chain_time`, the timestamp of the newest block the facts
  reflect; never this machine's clock, so the CLI, the service and the contract agree) and, when
  the publisher pinned it to origins, lists the origin the verifier reached;
* ``behaviour`` - when a behaviour source is given: the CLI replays fresh prompts now
  (``--behaviour``), the service reports its latest behaviour job.

The verdict is :meth:`registry.verdict.Verdict.decide` over those checks, and ``verified`` also
needs the ``identity`` check to pass: a registered release alone says nothing about what a URL
serves. Both callers build their outbound client from the same :class:`verifier.guard.GuardPolicy`
(:meth:`~verifier.guard.GuardPolicy.from_settings`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from registry.names import ReleaseName, did_id
from registry.times import iso
from registry.verdict import ChainView, Check, Verdict, names_check

if TYPE_CHECKING:
    from registry.chain.client import RegistryClient
    from registry.identity.protocol import Claim
    from verifier.probe import Prober
    from verifier.services import Services
    from verifier.settings import VerifierSettings


@dataclass(frozen=True, slots=True)
class ReleaseFact:
    """What the chain records for a release, as the verdict needs it."""

    release_id: str
    weights_digest: str
    revoked_at: int
    revoke_reason: str | None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0


@dataclass(frozen=True, slots=True)
class OperatorGrant:
    """One on-chain authorisation of an operator key (model-wide or for one release)."""

    scope: str
    expires_at: int
    revoked_at: int
    origins: tuple[str, ...] = ()
    """the origins the publisher pinned this authorisation to; empty: not pinned"""

    def active_at(self, chain_time: int) -> bool:
        return self.revoked_at == 0 and self.expires_at > chain_time

    def allows(self, origin: str) -> bool:
        return not self.origins or origin in self.origins


class Facts(Protocol):
    """Chain facts for the verdict rule: from the index (service) or from contract calls (CLI)."""

    def view(self) -> ChainView: ...

    def chain_time(self) -> int:
        """The timestamp of the newest block these facts reflect."""
        ...

    def release(self, name: ReleaseName) -> ReleaseFact | None: ...

    def operator_grants(self, name: ReleaseName, did: str) -> list[OperatorGrant]:
        """Every grant that could authorise ``did`` on ``name``: the model-wide one and the release one."""
        ...

    def confusions(self, namespace: str) -> list[dict[str, Any]]:
        """Registered namespaces ``namespace`` could be mistaken for."""
        ...


BehaviourSource = Callable[[ReleaseName, ReleaseFact | None], Check]
"""Gives the ``behaviour`` check for the subject release (run now, or the latest on record)."""


@dataclass(frozen=True, slots=True)
class EndpointCheck:
    verdict: Verdict
    confusions: list[dict[str, Any]]


def check_endpoint(
    url: str,
    claimed: ReleaseName | None,
    facts: Facts,
    prober: Prober,
    behaviour: BehaviourSource | None = None,
) -> EndpointCheck:
    """Probe the endpoint at ``url`` and judge it against ``facts``: the whole check."""
    view = facts.view()
    probe = prober.probe(url, claimed, lambda claim, origin: chain_check(claim, facts, view, origin))
    subject = claimed or (probe.claim.release if probe.claim else None)
    endpoint_checks = list(probe.checks)
    fact = facts.release(subject) if subject is not None else None
    if subject is not None and behaviour is not None:
        endpoint_checks.append(behaviour(subject, fact))
    return judge(url, subject, fact, facts.confusions(subject.namespace) if subject else [], view, endpoint_checks)


def judge(
    url: str,
    subject: ReleaseName | None,
    fact: ReleaseFact | None,
    confusions: list[dict[str, Any]],
    view: ChainView,
    endpoint_checks: list[Check] | None = None,
) -> EndpointCheck:
    """The verdict from the facts about the subject release and the endpoint's checks (which are
    ``identity: skip`` when the endpoint was not contacted: then it is never ``verified``)."""
    checks: list[Check] = []
    if subject is None:
        checks.append(Check("release", "skip", "no claimed release given and the endpoint's claim was not fetched"))
    elif fact is None:
        checks.append(Check("release", "fail", f"{subject} is not registered", decisive="unverified"))
    else:
        checks.append(Check("release", "pass", f"{subject} is registered", fact.evidence))
        checks.append(revocation_check(fact))
    names = names_check(confusions)
    if names is not None:
        checks.append(names)
    checks.extend(endpoint_checks or [Check("identity", "skip", "the endpoint was not contacted")])
    checks = [_behaviour_warning(c) for c in checks]
    # the endpoint proved who it is and nothing failed: say whether its behaviour was checked too
    identified = any(c.name == "identity" and c.status == "pass" for c in checks)
    if identified and not any(c.name == "behaviour" or c.status == "fail" for c in checks):
        checks.append(
            Check(
                "behaviour",
                "skip",
                "no behavioural check was asked for",
                required=False,
                warning="behaviour-not-established",
            )
        )
    checks.extend(view.freshness())
    word = Verdict.decide(checks)
    if word == "verified" and not any(c.name == "identity" and c.status == "pass" for c in checks):
        word = "unverified"  # a registered release alone does not prove what the URL serves
    subject_json = {"url": url, "releaseId": fact.release_id if fact else None, "checkedAt": int(time.time())}
    verdict = Verdict(word, tuple(checks), str(subject) if subject else None, view, subject_json)
    return EndpointCheck(verdict, confusions)


def _behaviour_warning(c: Check) -> Check:
    """A behaviour check that did not pass says so in the warnings too (a mismatch is already the
    verdict's reason, and is not repeated as a warning)."""
    if c.name != "behaviour" or c.status in ("pass", "fail") or c.warning is not None:
        return c
    return replace(c, warning="behaviour-not-established")


def revocation_check(fact: ReleaseFact) -> Check:
    if fact.revoked:
        return Check(
            "not-revoked",
            "fail",
            f"revoked at {iso(fact.revoked_at)}: {fact.revoke_reason or 'no reason given'}",
            decisive="revoked",
        )
    return Check("not-revoked", "pass", "not revoked")


def chain_check(claim: Claim, facts: Facts, view: ChainView, origin: str) -> Check:
    """The endpoint's claim against the chain, for the origin reached: operator expiry judged at
    chain time, and an authorisation the publisher pinned to origins holds only at those."""
    where = {"chainId": view.chain_id, "registry": view.registry}
    if claim.chain_id != view.chain_id or claim.registry.lower() != view.registry.lower():
        return Check(
            "chain",
            "fail",
            f"the endpoint points at chain {claim.chain_id} registry {claim.registry}; this verifier follows "
            f"chain {view.chain_id} registry {view.registry}",
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
    now = facts.chain_time()
    grants = facts.operator_grants(claim.release, claim.operator)
    evidence = {**where, "chainTime": now, "origin": origin, "grants": [_grant_json(g) for g in grants]}
    active = [g for g in grants if g.active_at(now)]
    if not active:
        expired = [g for g in grants if g.revoked_at == 0 and g.expires_at <= now]
        why = "expired at chain time" if expired else "never authorised, or revoked"
        return Check(
            "chain", "fail", f"{claim.operator} is not an authorised operator of {claim.release} ({why})", evidence
        )
    if not any(g.allows(origin) for g in active):
        pinned = sorted({o for g in active for o in g.origins})
        return Check(
            "chain",
            "fail",
            f"the publisher pinned {claim.operator} to {', '.join(pinned)}; its key is being used at {origin}, "
            "which is not among them (a copied key, or an address the publisher has not pinned)",
            evidence,
        )
    pinned_note = "; pinned to this origin" if all(g.origins for g in active if g.allows(origin)) else ""
    return Check(
        "chain",
        "pass",
        f"release registered and unrevoked; operator authorised and not expired{pinned_note}",
        evidence,
    )


def _grant_json(g: OperatorGrant) -> dict[str, Any]:
    return {"scope": g.scope, "expiresAt": g.expires_at, "revokedAt": g.revoked_at, "origins": list(g.origins)}


def make_prober(settings: VerifierSettings) -> Prober:
    """The prober of endpoint checks, with the one policy the service and ``modelseal check``
    share: :meth:`verifier.guard.GuardPolicy.from_settings` and the settings' receipt window."""
    from verifier.guard import GuardedClient, GuardPolicy
    from verifier.probe import Prober

    return Prober(GuardedClient(GuardPolicy.from_settings(settings)), receipt_window=settings.receipt_window_seconds)


# --- where facts come from -----------------------------------------------------------------


class IndexFacts:
    """Facts from the verifier's index. Each read opens its own short database session, so no
    session is held while the endpoint is contacted."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._view: ChainView | None = None

    def view(self) -> ChainView:
        if self._view is None:
            self._view = self.svc.chain_view()
        return self._view

    def chain_time(self) -> int:
        return self.svc.chain_time()

    def release(self, name: ReleaseName) -> ReleaseFact | None:
        from verifier.index import queries

        with self.svc.session() as s:
            r = queries.find_release(s, name.namespace, name.model, name.version)
            if r is None:
                return None
            return ReleaseFact(r.id, r.weights_digest, r.revoked_at or 0, r.revoke_reason, queries.release_json(r))

    def operator_grants(self, name: ReleaseName, did: str) -> list[OperatorGrant]:
        from verifier.index import queries

        with self.svc.session() as s:
            rows = queries.operator_grants(s, name.namespace, name.model, name.version, "0x" + did_id(did).hex())
            return [
                OperatorGrant(queries.operator_scope(r), r.expires_at, r.revoked_at, queries.operator_origins(r))
                for r in rows
            ]

    def confusions(self, namespace: str) -> list[dict[str, Any]]:
        with self.svc.session() as s:
            return self.svc.confusions(s, namespace)


class ClientFacts:
    """Facts from direct contract calls (:class:`registry.chain.client.RegistryClient`), for the CLI.
    Chain time is the timestamp of the head block, read once per check."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._view: ChainView | None = None
        self._time: int | None = None
        self._names: Any = None

    def view(self) -> ChainView:
        if self._view is None:
            block = self.client.w3.eth.get_block("latest")
            self._view = ChainView(self.client.chain_id, self.client.address, int(block["number"]))
            self._time = int(block["timestamp"])
        return self._view

    def chain_time(self) -> int:
        if self._time is None:
            self.view()
        assert self._time is not None
        return self._time

    def release(self, name: ReleaseName) -> ReleaseFact | None:
        from registry.chain.verify import release_json

        info = self.client.release(name)
        if info is None:
            return None
        return ReleaseFact(
            "0x" + info.id.hex(), info.weights_digest.hex(), info.revoked_at, info.revoke_reason, release_json(info)
        )

    def operator_grants(self, name: ReleaseName, did: str) -> list[OperatorGrant]:
        grants = []
        for version in (None, name.version):
            op = self.client.operator(name.namespace, name.model, version, did)
            if op.expires_at or op.revoked_at:
                scope = f"{name.namespace}/{name.model}" + (f"/{version}" if version else "")
                origins = self.client.operator_origins(name.namespace, name.model, version, did)
                grants.append(OperatorGrant(scope, op.expires_at, op.revoked_at, origins))
        return grants

    def confusions(self, namespace: str) -> list[dict[str, Any]]:
        """Read every claimed namespace from the registry's events (once, in claim order), then
        compare with those claimed before ``namespace``."""
        from registry.confusables import ConfusableIndex

        if self._names is None:
            self._names = ConfusableIndex(self.client.namespace_names())
        found = self._names.standing(namespace).earlier  # names claimed before it (all, if unclaimed)
        return [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]
