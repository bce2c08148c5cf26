"""The response models of the ``/v1`` API: what each route answers, as the OpenAPI publishes it.

Output models only (request bodies live beside their routes); the routes still build plain JSON
(:mod:`verifier.index.queries`, :meth:`registry.verdict.Verdict.as_json`, ...) and FastAPI checks
it against these models on the way out, so the published contract and the wire cannot drift
apart. Members are named on the wire exactly as the routes always named them (camelCase aliases
of snake_case fields), and a route answers with ``response_model_exclude_unset``: a member the
route did not produce is never added, not even as ``null``.

Every object has declared members. Two are open on purpose, each a named schema that says so:
a check's ``evidence`` (:class:`Evidence`: what a check found differs per check; its known
members are declared, others may follow) and a proof (:class:`DataIntegrityProof`: other proof
suites carry other members). Third-party documents inside evidence (a chatbot's refusal) are
:class:`ForeignDocument`, kept as the chatbot sent them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel


class VerdictWord(StrEnum):
    """The verdict (:data:`registry.verdict.VerdictWord`): ``verified``; ``unverified``, could not
    prove it; ``mismatch``, proven false; ``revoked`` by its publisher."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    MISMATCH = "mismatch"
    REVOKED = "revoked"


class CheckStatus(StrEnum):
    """A check's result (:data:`registry.verdict.Status`)."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class WarningCode(StrEnum):
    """What a person must be told beside the verdict (:data:`registry.verdict.WARNING_CODES`)."""

    CONFUSABLE_NAME = "confusable-name"
    RELAYED_ANSWERS = "relayed-answers"
    STALE_INDEX = "stale-index"
    BEHAVIOUR_NOT_ESTABLISHED = "behaviour-not-established"
    DEV_CHAIN = "dev-chain"


class JobState(StrEnum):
    """A job's state (behavioural checks, check jobs, audit jobs): queued, running, then done or
    error. A job whose process died is reported ``error``, never ``running`` for ever."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"


class ConfusionReason(StrEnum):
    """Why a name could be mistaken for another, most serious first (:data:`registry.confusables.REASONS`)."""

    ENS_NORMALIZATION = "ens-normalization"
    UNICODE_SKELETON = "unicode-skeleton"
    ASCII_LOOKALIKE = "ascii-lookalike"
    SEPARATOR = "separator"
    AFFIX = "affix"
    EDIT_DISTANCE = "edit-distance"


HealthStatus = Literal["ok", "degraded"]
AuditDecision = Literal["match", "mismatch", "not-auditable"]
BehaviourDecision = Literal["match", "mismatch", "inconclusive"]
Comparison = Literal["exact", "tolerance"]
FilingStatus = Literal["approved", "submitted", "declared"]
EventName = Literal[
    "NamespaceClaimed",
    "NamespaceTransferStarted",
    "NamespaceTransferred",
    "SignerAdded",
    "SignerRemoved",
    "OperatorAuthorized",
    "OperatorRevoked",
    "ReleasePublished",
    "ReleaseRevoked",
    "Endorsed",
    "EndorsementRevoked",
]
"""The registry contract's events (a test keeps them equal to its ABI)."""

TIME = "UTC time, ISO 8601 (2026-11-29T17:17:27Z); null when it never happened"


class _Out(BaseModel):
    """A response object: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, protected_namespaces=())


class _Open(_Out):
    """An open object: the members declared are known, others may follow."""

    model_config = ConfigDict(extra="allow")


# --- health --------------------------------------------------------------------------------


class IndexState(_Out):
    """How far the index has followed the chain."""

    chain_id: int
    registry: str = Field(description="the registry contract's address")
    head: int = Field(description="the chain's head block, as last seen")
    indexed_block: int = Field(description="the last block the index holds")
    behind: int = Field(description="blocks between the head and the index")
    confirmations: int = Field(description="blocks the index stays below the head on purpose")
    stale: bool = Field(description="the chain does not answer now: the index is served as it is")
    unreachable_seconds: float | None = Field(description="seconds since the chain last answered, when it does not")


class ReplicaState(_Out):
    """What this replica of the verifier does, beside serving reads."""

    indexing: bool = Field(description="whether this replica holds the indexer lease (one replica indexes at a time)")
    jobs: Literal["in-process", "queue"] = Field(
        description="where jobs (behavioural checks, check jobs, audits) run: in the replica asked, or on the task "
        "queue for workers"
    )


class Health(_Out):
    """Service, chain and index state."""

    status: HealthStatus
    detail: str | None = Field(description="why it is degraded")
    chain: IndexState | None = Field(description="null when the index database cannot be read")
    replica: ReplicaState | None = Field(default=None, description="this replica's roles")
    version: str = Field(description="the verifier's version")


# --- names, namespaces ---------------------------------------------------------------------


class Confusion(_Out):
    """A namespace a name could be mistaken for, and why."""

    namespace: str
    reason: ConfusionReason = Field(description="the most serious reason, from ens-normalization to edit-distance")
    detail: str


class NamespaceSummary(_Out):
    name: str
    namespace_id: str
    controller: str = Field(description="the controlling account's address")
    releases: int = Field(description="how many releases it has published")


class NamespaceList(_Out):
    namespaces: list[NamespaceSummary]


class Signer(_Out):
    """A signing key of a namespace, with its validity window."""

    did: str
    did_hash: str
    valid_from: str | None = Field(description=TIME)
    valid_until: str | None = Field(description=TIME + " (null: still valid)")
    active: bool = Field(description="valid at chain time")


class Operator(_Out):
    """An authorisation of an operator key, for a model (every version) or one release."""

    operator: str = Field(description="the operator key's DID")
    operator_did_hash: str
    scope: str = Field(description="namespace/model or namespace/model/version")
    scope_kind: Literal["model", "release"]
    expires_at: str | None = Field(description=TIME)
    revoked_at: str | None = Field(description=TIME)
    origins: list[str] = Field(description="the origins the publisher pinned it to (empty: not pinned)")
    active: bool = Field(description="neither revoked nor expired at chain time")


class Release(_Out):
    """A published release as the chain records it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "release": "deepseek/chat/1.0.0",
                    "namespace": "deepseek",
                    "model": "chat",
                    "version": "1.0.0",
                    "releaseId": "0x9b0c5f0d5e0f5c1d7c2a0e8d4b7f3a1c6e2d9b8a7f6e5d4c3b2a190817263544",
                    "weightsDigest": "5f1c3a0e9d8b7a6c5e4d3c2b1a09f8e7d6c5b4a392817060504f3e2d1c0b0a09",
                    "manifestDigest": "0c1d2e3f405162738495a6b7c8d9eafb0c1d2e3f405162738495a6b7c8d9eafb",
                    "signerDidHash": "0x4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d",
                    "publisher": "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
                    "publishedAt": "2026-11-29T17:17:27Z",
                    "block": 18,
                    "tx": "0x8d7c6b5a49382716a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e",
                    "revoked": False,
                    "revokedAt": None,
                    "revokeReason": None,
                }
            ]
        }
    )

    release: str = Field(description="namespace/model/version")
    namespace: str
    model: str
    version: str
    release_id: str
    weights_digest: str = Field(description="BLAKE3 of the weights, 64 hex")
    manifest_digest: str = Field(description="BLAKE3 of the manifest's canonical bytes, 64 hex")
    signer_did_hash: str
    publisher: str = Field(description="the account that published it")
    published_at: str | None = Field(description=TIME)
    block: int
    tx: str
    revoked: bool
    revoked_at: str | None = Field(description=TIME)
    revoke_reason: str | None


class EventArgs(_Open):
    """An event's arguments as the contract emitted them (bytes as 0x-hex, times as unix seconds).
    Which members are present depends on the event (see the contract's IModelRegistry.sol)."""

    namespace_id: str | None = None
    namespace: str | None = None
    controller: str | None = None
    pending_controller: str | None = None
    previous_controller: str | None = None
    new_controller: str | None = None
    did_hash: str | None = None
    did: str | None = None
    valid_from: int | None = None
    valid_until: int | None = None
    scope_id: str | None = None
    operator_did_hash: str | None = None
    operator_did: str | None = None
    model: str | None = None
    version: str | None = None
    expires_at: int | None = None
    origins: list[str] | None = None
    release_id: str | None = None
    weights_digest: str | None = None
    manifest_digest: str | None = None
    signer_did_hash: str | None = None
    publisher: str | None = None
    published_at: int | None = None
    reason: str | None = None
    revoked_at: int | None = None
    endorser: str | None = None
    kind_hash: str | None = None
    kind: str | None = None
    data_digest: str | None = None
    time: int | None = None


class EventAlerts(_Out):
    """What the verifier noticed about an event: a claimed namespace that could be mistaken for others."""

    confusable_with: list[Confusion]


class Event(_Out):
    """One registry event, in chain order."""

    cursor: int = Field(description="the event's id; pass it as cursor to read what follows")
    event: EventName
    namespace: str | None
    block: int
    tx: str
    time: str | None = Field(description=TIME)
    args: EventArgs
    alerts: EventAlerts | None


class Namespace(_Out):
    """A namespace with its signers, operators, releases and recent events."""

    name: str
    namespace_id: str
    controller: str
    pending_controller: str | None
    claimed_block: int
    signers: list[Signer]
    operators: list[Operator]
    releases: list[Release]
    history: list[Event] = Field(description="the last 50 events, newest first")
    confusable_with: list[Confusion] = Field(
        description="namespaces registered before it that it could be mistaken for (a warning)"
    )
    lookalikes: list[Confusion] = Field(
        description="namespaces registered after it that could be mistaken for it (a notice, not a warning)"
    )


class NameStanding(_Out):
    """A name's look-alikes: registered before it (a warning) and after it (a notice)."""

    name: str
    confusable_with: list[Confusion]
    lookalikes: list[Confusion]


# --- releases, manifests, endorsements -----------------------------------------------------


class ReleaseList(_Out):
    releases: list[Release]


class Endorsement(_Out):
    """An endorsement of a release (a regulator's filing status, an audit, ...)."""

    kind: str = Field(description="e.g. filing.submitted, filing.approved")
    endorser: str = Field(description="the endorsing account's address")
    endorser_label: str | None = Field(description="what this verifier's trust list calls the endorser, if anything")
    data_digest: str
    time: str | None = Field(description=TIME)
    revoked: bool
    trusted: bool = Field(description="the verifier's trust list names this endorser for this kind")


class DataIntegrityProof(_Open):
    """A W3C Data Integrity proof (``eddsa-jcs-2022``). Open: another suite may add members."""

    type: str | None = None
    cryptosuite: str | None = None
    created: str | None = None
    verification_method: str | None = None
    proof_purpose: str | None = None
    proof_value: str | None = None


class ManifestRelease(_Out):
    namespace: str
    model: str
    version: str


class ManifestFile(_Out):
    path: str
    size: int
    blake3: str


class ManifestWeights(_Out):
    kind: Literal["file", "folder"]
    algorithm: Literal["blake3"]
    digest: str
    files: list[ManifestFile]
    ignore: list[str]


class ManifestLineage(_Out):
    relation: Literal["fine-tune", "quantization", "distillation", "merge", "adapter"]
    of: str = Field(description="a weights digest (64 hex) or a release name")


class ManifestFiling(_Out):
    jurisdiction: str
    number: str
    risk_assessment: str | None = None


class ManifestDocument(_Out):
    """A signed ``modelseal/manifest/v1`` document (docs/manifest-format.md). Optional blocks are
    absent, never null."""

    type: Literal["modelseal/manifest/v1"]
    release: ManifestRelease
    publisher: str = Field(description="the publisher's DID")
    weights: ManifestWeights
    created: str
    license: str | None = None
    model_card: str | None = None
    lineage: list[ManifestLineage] | None = None
    filing: ManifestFiling | None = None
    proof: list[DataIntegrityProof] | None = None


class ReleaseDetail(Release):
    """A release with its signer, operators, endorsements, manifest (if uploaded) and history."""

    signer: Signer | None
    operators: list[Operator]
    endorsements: list[Endorsement]
    manifest: ManifestDocument | None = Field(description="null until someone uploads it")
    history: list[Event]


class WeightsMatches(_Out):
    """The releases anchoring one weights digest, a page at a time."""

    weights_digest: str
    count: int = Field(description="how many releases anchor these weights")
    offset: int
    releases: list[Release]


class IgnoredProof(_Out):
    proof: int = Field(description="the proof's position in the uploaded document")
    reason: str


class ManifestStored(_Out):
    """What an upload stored."""

    manifest_digest: str
    release: str
    url: str = Field(description="where the stored manifest is served")
    proofs: int = Field(description="proofs now stored")
    ignored: list[IgnoredProof] = Field(description="proofs set aside, with the reason")


class EndorsementList(_Out):
    release: str
    endorsements: list[Endorsement]


class Filing(_Out):
    """A regulator filing a manifest declares, with the status trusted endorsers gave it."""

    filing_number: str
    jurisdiction: str
    release: str
    status: FilingStatus = Field(description="approved or submitted by a trusted endorser, else declared")
    revoked: bool = Field(description="the release was revoked")
    endorsements: list[Endorsement] = Field(description="the trusted, unrevoked endorsements")


class FilingList(_Out):
    filings: list[Filing]
    trust: dict[str, list[str]] = Field(
        description="the verifier's trust list: endorsement kind -> accounts trusted for it"
    )


# --- verdicts --------------------------------------------------------------------------------


class VerdictWarning(_Out):
    """Something to show next to the verdict, whatever the verdict is."""

    code: WarningCode = Field(description="registry.verdict.WARNING_CODES (docs/app-stores.md)")
    message: str
    check: str | None = Field(description="the check that raised it, if any")


class ChainView(_Out):
    """Which chain and registry the facts come from, and as of which block."""

    chain_id: int
    name: str = Field(description="the chain's name, or 'chain N'")
    development: bool = Field(description="a development chain: anyone can run and rewrite it")
    registry: str
    block: int
    behind: int
    stale: bool


class ForeignDocument(_Open):
    """A JSON object as a chatbot sent it (never trusted; kept as evidence). Known members of a
    refusal are declared."""

    error: JsonValue = None
    origins: JsonValue = None


class ClaimRelease(_Out):
    namespace: str
    model: str
    version: str


class ClaimEndpoints(_Out):
    challenge: str


class IdentityClaim(_Out):
    """An endpoint's identity claim (``modelseal/identity/v1``), as the verifier read it."""

    type: str
    release: ClaimRelease
    release_id: str
    weights_digest: str
    operator: str
    chain_id: int
    registry: str
    origins: list[str]
    engine: str | None = None
    endpoints: ClaimEndpoints


class Grant(_Out):
    scope: str
    expires_at: int = Field(description="unix seconds")
    revoked_at: int = Field(description="unix seconds, 0: not revoked")
    origins: list[str]


class PromptResult(_Out):
    prompt: str
    same_text: bool
    max_logprob_gap: float | None
    mean_logprob_gap: float | None
    agreed_tokens: int


class BehaviourStatistic(_Out):
    prompts: int
    differing: int
    text_differs: int
    logprob_differs: int
    max_logprob_gap: float | None
    logprobs: bool


class BehaviourThresholds(_Out):
    exact: float
    exact_prompts: int
    text_only_prompts: int
    tolerance_gap: float
    tolerance_prompts: int
    tolerance_allowed: int
    tolerance_mismatches: int
    early_tokens: int
    text_tolerance_prompts: int
    text_tolerance_allowed: int
    text_tolerance_mismatches: int


class LaterRun(_Out):
    job: str
    state: JobState
    status: CheckStatus | None
    error: str | None
    age_seconds: int


class Evidence(_Open):
    """What a check found. Open: its members differ per check (docs/verifier.md lists them);
    those known are declared here, and a member not listed may follow."""

    # release (the chain's record of the subject release)
    release: str | None = None
    namespace: str | None = None
    model: str | None = None
    version: str | None = None
    release_id: str | None = None
    weights_digest: str | None = None
    manifest_digest: str | None = None
    signer_did_hash: str | None = None
    publisher: str | None = None
    published_at: str | None = None
    block: int | None = None
    tx: str | None = None
    revoked: bool | None = None
    revoked_at: str | None = None
    revoke_reason: str | None = None
    # names
    confusable_with: list[Confusion] | None = None
    # identity, challenge, receipt
    reason: str | None = Field(default=None, description="why the outbound request was refused")
    status: int | None = Field(default=None, description="the HTTP status the endpoint answered")
    claim: IdentityClaim | None = None
    address: str | None = Field(default=None, description="the IP address connected to")
    origin: str | None = None
    nonce: str | None = None
    served_origins: list[str] | None = None
    answer: ForeignDocument | None = None
    signed_origin: str | None = None
    request_sha256: str | None = None
    receipt_time: int | None = None
    # chain
    chain_id: int | None = None
    registry: str | None = None
    chain_time: int | None = None
    grants: list[Grant] | None = None
    # manifest verdict
    anchored: str | None = None
    signers: list[str] | None = None
    # behaviour
    decision: BehaviourDecision | None = None
    comparison: Comparison | None = None
    text_only: bool | None = None
    cannot_exclude: str | None = None
    statistic: BehaviourStatistic | None = None
    engine: str | None = None
    declared_engine: str | None = None
    reference: str | None = None
    seconds: float | None = None
    prompts: list[PromptResult] | None = None
    thresholds: BehaviourThresholds | None = None
    age_seconds: int | None = None
    job: str | None = None
    later_runs: list[LaterRun] | None = None
    runs_on_record: int | None = None
    start: str | None = Field(default=None, description="how to start a behavioural check, when none has run")


class Check(_Out):
    """One named check of a verdict."""

    name: str = Field(description="e.g. release, not-revoked, names, identity, challenge, chain, receipt, behaviour")
    status: CheckStatus
    detail: str
    evidence: Evidence
    required: bool = Field(description="false: information beside the verdict; its skip does not stop verified")
    warning: WarningCode | None = Field(description="the warning this check's result raises")


class _Verdict(_Out):
    verdict: VerdictWord = Field(
        description="verified, unverified (could not prove it), mismatch (proven false) or revoked"
    )
    warnings: list[VerdictWarning] = Field(description="show these next to the verdict, whatever it is")
    release: str | None = Field(description="the release judged (namespace/model/version)")
    checks: list[Check]
    chain: ChainView | None


class CheckSubject(_Out):
    url: str = Field(description="the URL checked")
    release_id: str | None
    checked_at: int = Field(description="unix seconds")


class CheckVerdict(_Verdict):
    """Is the chatbot at this URL really this release? The verdict, its warnings, the named
    checks and the chain view."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "verdict": "unverified",
                    "warnings": [
                        {
                            "code": "dev-chain",
                            "message": "these facts come from a development chain (anvil / Hardhat) (id 31337), "
                            "which anyone can run and rewrite: they prove nothing to others",
                            "check": None,
                        }
                    ],
                    "release": "deepseek/chat/1.0.0",
                    "subject": {"url": "https://chat.example", "releaseId": "0x9b0c5f0d", "checkedAt": 1796000000},
                    "checks": [
                        {
                            "name": "release",
                            "status": "pass",
                            "detail": "deepseek/chat/1.0.0 is registered",
                            "evidence": {"release": "deepseek/chat/1.0.0", "block": 18},
                            "required": True,
                            "warning": None,
                        },
                        {
                            "name": "identity",
                            "status": "fail",
                            "detail": "no identity endpoint (/.well-known/model-identity answered 404): "
                            "nothing is proven",
                            "evidence": {"status": 404},
                            "required": True,
                            "warning": None,
                        },
                    ],
                    "chain": {
                        "chainId": 31337,
                        "name": "development chain (anvil / Hardhat)",
                        "development": True,
                        "registry": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                        "block": 18,
                        "behind": 0,
                        "stale": False,
                    },
                }
            ]
        }
    )

    subject: CheckSubject


class ManifestSubject(_Out):
    manifest_digest: str


class ManifestVerdict(_Verdict):
    """Is this manifest the anchored one for its release, validly signed and unrevoked?"""

    subject: ManifestSubject


# --- behavioural checks, audits, feed ------------------------------------------------------


class BehaviourJob(_Out):
    """A behavioural check: queued, running, then done (with its check) or error."""

    id: str
    url: str
    release: str
    state: JobState
    created: int = Field(description="unix seconds")
    finished: int | None = Field(description="unix seconds")
    check: Check | None = Field(description="the behaviour check, once done")
    error: str | None


class BehaviourJobStarted(BehaviourJob):
    status_url: str = Field(description="poll it (also in Location)")


class BehaviourRuns(_Out):
    url: str
    release: str
    reported: str | None = Field(description="the id of the run /v1/check reports (the latest decisive one)")
    runs: list[BehaviourJob] = Field(description="finished runs kept, newest first")


class ReceiptDocument(_Open):
    """A decoded ``Model-Receipt`` (``modelseal/receipt/v1``): what the operator signed."""

    type: str
    release: str
    release_id: str
    weights_digest: str
    operator: str
    request_sha256: str
    response_sha256: str
    time: str
    chain_id: int
    registry: str
    engine: str | None = None
    proof: DataIntegrityProof | None = None


class AuditEvidence(_Open):
    """What a receipt audit found: the signed receipt, and the replay when there was one."""

    receipt: ReceiptDocument
    request_sha256: str
    response_sha256: str
    release: str
    operator: str
    comparison: Comparison | None = None
    engine: str | None = None
    declared_engine: str | None = None
    answer_text: str | None = None
    replay_text: str | None = None
    max_logprob_gap: float | None = None
    mean_logprob_gap: float | None = None
    cannot_exclude: str | None = None


class Audit(_Out):
    """Do the registered weights give the answer the operator signed?"""

    decision: AuditDecision
    detail: str
    evidence: AuditEvidence


class CheckJob(_Out):
    """An endpoint check run as a job: queued, running, then done (with the verdict ``GET
    /v1/check`` gives) or error (with the reason: the endpoint could not be reached, the job was
    lost; an error never carries a ``verified`` verdict)."""

    id: str = Field(description="the job's id (128 random bits)")
    url: str = Field(description="the URL to check")
    release: str | None = Field(description="the release it should serve, when given")
    state: JobState
    created: int = Field(description="unix seconds")
    finished: int | None = Field(description="unix seconds")
    verdict: CheckVerdict | None = Field(
        description="the verdict, once done; with an unreachable endpoint, the verdict beside the error"
    )
    error: str | None = Field(description="why the job failed")


class CheckJobStarted(CheckJob):
    status_url: str = Field(description="poll it (also in Location)")


class AuditJob(_Out):
    """A receipt audit run as a job: queued, running, then done (with the audit) or error."""

    id: str = Field(description="the job's id (128 random bits: keep it private, as the audit may be)")
    state: JobState
    created: int = Field(description="unix seconds")
    finished: int | None = Field(description="unix seconds")
    audit: Audit | None = Field(description="the audit, once done")
    error: str | None = Field(description="why the job failed")


class AuditJobStarted(AuditJob):
    status_url: str = Field(description="poll it (also in Location)")


class Feed(_Out):
    events: list[Event] = Field(description="oldest first")
    next_cursor: int = Field(description="pass it as cursor to read what follows")


WITH_EXAMPLES: tuple[type[BaseModel], ...] = (Release, CheckVerdict)
"""Models whose schema carries examples."""


def json_schema_of(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Component schemas of ``models`` (serialization mode), for models the routes do not name
    (problem details)."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}", by_alias=True
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return defs
