"""The ``/v1`` REST API: one router per resource, answers read from the index.

Errors are RFC 9457 problem details (:mod:`verifier.problems`); blocking database work runs in
plain ``def`` routes (FastAPI's thread pool).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from registry.errors import InputError
from registry.names import ReleaseName
from registry.signing.manifest import Manifest
from registry.verdict import LAG_BLOCKS
from verifier import schemas
from verifier.audit import MAX_AUDIT_BYTES
from verifier.cache import VALID_UNTIL
from verifier.errors import Problem
from verifier.index import queries
from verifier.index.schema import Counter, ManifestRow
from verifier.jobs import Task
from verifier.limits import _client
from verifier.problems import problem_responses
from verifier.services import Services, get_services

log = logging.getLogger("modelseal.verifier")


class _DigestConvertor(Convertor[str]):
    """A path segment that is a digest, so ``/v1/manifests/verify`` is never read as one."""

    regex = "(?:0x)?[0-9a-fA-F]{64}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("digest", _DigestConvertor())
ServicesDep = Annotated[Services, Depends(get_services)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
DIGEST = re.compile(r"[0-9a-f]{64}")
DigestPath = Annotated[str, Path(pattern=r"^(0x)?[0-9a-fA-F]{64}$", description="a BLAKE3 digest: 64 hex digits")]
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = (  # RFC 4291 text forms without an embedded IPv4 address
    f"(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,7}}:|(?:{_H}:){{1,6}}:{_H}|(?:{_H}:){{1,5}}(?::{_H}){{1,2}}"
    f"|(?:{_H}:){{1,4}}(?::{_H}){{1,3}}|(?:{_H}:){{1,3}}(?::{_H}){{1,4}}|(?:{_H}:){{1,2}}(?::{_H}){{1,5}}"
    f"|{_H}:(?::{_H}){{1,6}}|:(?:(?::{_H}){{1,7}}|:))"
)
_HOST = rf"(?:\[{_IPV6}\]|[^\s\u0085\ufeff/?#\[\]@:]+)"  # a name or address, or a bracketed IPv6 address
# (\u0085 and \ufeff: whitespace to one of the two regular expression engines, Rust's and ECMA-262's)
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})?)?"
URL_PATTERN = rf"^[hH][tT][tT][pP][sS]?://{_HOST}{_PORT}(?:[/?#].*)?$"
"""An http(s) URL whose authority parses: host (no user info) and a port up to 65535."""
RELEASE_PATTERN = (  # registry.names' rules (the contract's), as one ECMA-262 regular expression
    r"^(?=[a-z0-9-]{2,64}/)[a-z0-9]+(?:-[a-z0-9]+)*/(?!\.\.?/)[a-z0-9._-]{1,64}/(?!\.\.?$)[!-~]{1,64}$"
)
UrlQuery = Annotated[
    str, Query(min_length=8, max_length=2048, pattern=URL_PATTERN, description="the chatbot's base URL (http or https)")
]
ReleaseQuery = Annotated[  # validated by ReleaseName.parse (pydantic's regex engine has no look-ahead)
    str,
    Query(
        max_length=200,
        json_schema_extra={"pattern": RELEASE_PATTERN},
        description="the release it claims: namespace/model/version",
    ),
]


def typed(model: type[BaseModel]) -> dict[str, Any]:
    """A route's answer is ``model`` (:mod:`verifier.schemas`), published in the OpenAPI and checked
    on the way out; only the members the route produced are sent (none added as ``null``)."""
    return {"response_model": model, "response_model_exclude_unset": True}


health = APIRouter(tags=["health"])
namespaces = APIRouter(prefix="/v1/namespaces", tags=["namespaces"])
releases = APIRouter(prefix="/v1/releases", tags=["releases"])
weights = APIRouter(prefix="/v1/weights", tags=["releases"])
manifests = APIRouter(prefix="/v1/manifests", tags=["manifests"])
endorsements = APIRouter(prefix="/v1", tags=["endorsements"])
check = APIRouter(prefix="/v1", tags=["check"])
monitor = APIRouter(prefix="/v1", tags=["monitor"])


def _release_or_404(s: Session, namespace: str, model: str, version: str) -> Any:
    r = queries.find_release(s, namespace, model, version)
    if r is None:
        raise Problem(404, "release-not-found", "Release not found", f"{namespace}/{model}/{version} is not published")
    return r


def _digest(value: str) -> str:
    v = value.lower().removeprefix("0x")
    if not DIGEST.fullmatch(v):
        raise Problem(422, "invalid-digest", "Not a digest", f"{value!r} is not 64 hex characters")
    return v


@health.get("/v1/health", operation_id="health", **typed(schemas.Health))
def get_health(svc: ServicesDep) -> dict[str, Any]:
    """Service, chain and index state. ``status`` is ``ok``, or ``degraded`` with the reason."""
    status, detail = "ok", None
    try:
        st = svc.indexer.status()
    except SQLAlchemyError as exc:  # the driver's words (SQL, paths) go to the log, not to clients
        log.warning("health: index database: %s", exc)
        return {
            "status": "degraded",
            "detail": "the index database cannot be read",
            "chain": None,
            "version": svc.version,
        }
    if st.unreachable_for is not None:
        status = "degraded"
        detail = (
            f"the chain has not answered for {st.unreachable_for:.0f} s; serving the index as of block {st.indexed}"
        )
    elif svc.background is not None and svc.background.last_error:
        status, detail = "degraded", svc.background.last_error
    elif st.behind > st.confirmations + LAG_BLOCKS:  # e.g. no replica indexes: every one says so
        status, detail = "degraded", f"the index is {st.behind} blocks behind the chain head"
    replica = {"indexing": svc.indexer.leading, "jobs": svc.settings.jobs}
    return {"status": status, "detail": detail, "chain": st.as_json(), "replica": replica, "version": svc.version}


# --- namespaces ----------------------------------------------------------------------------


@namespaces.get("", operation_id="listNamespaces", **typed(schemas.NamespaceList))
def list_namespaces(svc: ServicesDep, q: str | None = None, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    with svc.session() as s:
        return {"namespaces": queries.list_namespaces(s, q, limit, offset)}


@namespaces.get("/{name}", operation_id="getNamespace", responses=problem_responses(404), **typed(schemas.Namespace))
def get_namespace(name: str, svc: ServicesDep) -> dict[str, Any]:
    """A namespace: controller, signers (with history), operators, releases, recent events, the
    namespaces registered before it that it could be mistaken for (``confusableWith``: a warning)
    and those registered after it that could be mistaken for it (``lookalikes``: a notice)."""
    with svc.session() as s:
        data = queries.get_namespace(s, name, svc.chain_time())
        confusions, lookalikes = svc.name_standing(s, name)
    if data is None:
        raise Problem(
            404,
            "namespace-not-found",
            "Namespace not found",
            f"namespace {name!r} is not claimed",
            confusableWith=confusions or None,
        )
    data["confusableWith"] = confusions
    data["lookalikes"] = lookalikes
    return data


@namespaces.get("/{name}/confusables", operation_id="checkName", **typed(schemas.NameStanding))
def check_name(name: str, svc: ServicesDep) -> dict[str, Any]:
    """Namespaces registered before ``name`` that it could be mistaken for (every look-alike, for
    an unclaimed name), and those registered after it (``lookalikes``)."""
    with svc.session() as s:
        confusions, lookalikes = svc.name_standing(s, name)
    return {"name": name, "confusableWith": confusions, "lookalikes": lookalikes}


# --- releases ------------------------------------------------------------------------------


@releases.get("", operation_id="listReleases", **typed(schemas.ReleaseList))
def list_releases(
    svc: ServicesDep, namespace: str | None = None, q: str | None = None, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    with svc.session() as s:
        return {"releases": queries.list_releases(s, namespace, q, limit, offset)}


@releases.get(
    "/{namespace}/{model}/{version:path}",
    operation_id="getRelease",
    responses=problem_responses(404),
    **typed(schemas.ReleaseDetail),
)
def get_release(namespace: str, model: str, version: str, svc: ServicesDep, response: Response) -> dict[str, Any]:
    """A release with its signer, operators, endorsements, manifest (if uploaded) and history."""
    with svc.session() as s:
        r = _release_or_404(s, namespace, model, version)
        detail, until = queries.release_detail_until(
            s, r, svc.chain_time(), svc.settings.trust, svc.settings.trust_labels
        )
    if until is not None:  # for the read cache only (it removes the header)
        response.headers[VALID_UNTIL.decode()] = str(until)
    return detail


@weights.get(
    "/{digest:digest}",
    operation_id="releasesByWeights",
    responses=problem_responses(404, 422),
    **typed(schemas.WeightsMatches),
)
def by_weights(digest: DigestPath, svc: ServicesDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The releases anchoring these weights, in publish order, a page at a time: `count` is how
    many there are (anyone may anchor any digest; the first to anchor is not thereby the publisher)."""
    d = _digest(digest)
    with svc.session() as s:
        count, found = queries.releases_by_weights(s, d, limit, offset)
    if not count:
        raise Problem(404, "weights-not-registered", "Weights not registered", f"no release anchors weights {d}")
    return {"weightsDigest": d, "count": count, "offset": offset, "releases": found}


# --- manifests -----------------------------------------------------------------------------

ManifestBody = Annotated[dict[str, Any], Body(description="a modelseal/manifest/v1 document")]


def _parse(doc: dict[str, Any]) -> Manifest:
    try:
        return Manifest.from_dict(doc)
    except InputError as exc:
        raise Problem(422, "invalid-manifest", "Invalid manifest", exc.message, hint=exc.hint) from None


def _stored_manifest(row: ManifestRow | None) -> Manifest | None:
    """The stored manifest, or None if there is none or it no longer parses (an upload replaces it)."""
    if row is None:
        return None
    try:
        return Manifest.from_json(row.document)
    except InputError:
        return None


@manifests.post(
    "",
    status_code=201,
    operation_id="uploadManifest",
    responses={200: {"model": schemas.ManifestStored, "description": "Already stored"}, **problem_responses(409, 422)},
    **typed(schemas.ManifestStored),
)
def upload_manifest(doc: ManifestBody, svc: ServicesDep, response: Response) -> dict[str, Any]:
    """Store a signed manifest for its release: 201 when first stored, 200 when it was already.

    Accepted only when its digest is anchored for its release and one of its proofs verifies by
    the key the chain recorded for that release (a signer of the namespace when anchored). Other
    proofs are kept when they verify and are by a signer of the namespace, and set aside (listed
    under ``ignored``) otherwise; proofs stored earlier stay. At most 16 proofs, one per signer."""
    from verifier.manifests import accept_upload

    manifest = _parse(doc)
    for attempt in (1, 2, 3):  # uploads at once: the one that lost merges into the winner's row
        try:
            with svc.session() as s, s.begin():
                row = s.get(ManifestRow, manifest.digest.hex)
                stored = _stored_manifest(row)
                upload = accept_upload(s, manifest, stored)
                document = json.dumps(upload.manifest.document())
                if row is None:
                    s.add(ManifestRow(digest=manifest.digest.hex, document=document))
                elif upload.changed:
                    swapped = s.execute(
                        update(ManifestRow)
                        .where(ManifestRow.digest == row.digest, ManifestRow.document == row.document)
                        .values(document=document)
                        .execution_options(synchronize_session=False)
                    )
                    if getattr(swapped, "rowcount", 1) != 1:
                        raise IntegrityError("the stored manifest changed meanwhile", None, Exception("merge"))
                if row is None or upload.changed:  # every replica's cached answers showing it end
                    s.execute(update(Counter).where(Counter.name == "manifests").values(value=Counter.value + 1))
            break
        except IntegrityError:
            if attempt == 3:
                detail = "the stored manifest changed meanwhile; upload again"
                raise Problem(409, "conflict", "Upload conflict", detail) from None
    svc.uploads += 1  # this replica's cached answers end at once (the others' at their next look)
    body = {
        "manifestDigest": manifest.digest.hex,
        "release": str(manifest.release_name),
        "url": f"/v1/manifests/{manifest.digest.hex}",
        "proofs": len(upload.manifest.proof or ()),
        "ignored": list(upload.ignored),
    }
    response.status_code = 201 if upload.created else 200
    return body


@manifests.get(
    "/{digest:digest}", operation_id="getManifest", responses=problem_responses(404), **typed(schemas.ManifestDocument)
)
def get_manifest(digest: DigestPath, svc: ServicesDep) -> dict[str, Any]:
    d = _digest(digest)
    with svc.session() as s:
        doc = queries.manifest_document(s, d)
    if doc is None:
        raise Problem(404, "manifest-not-found", "Manifest not found", f"no manifest with digest {d} was uploaded")
    return doc


@manifests.post(
    "/verify", operation_id="verifyManifest", responses=problem_responses(422), **typed(schemas.ManifestVerdict)
)
def verify_manifest(doc: ManifestBody, svc: ServicesDep) -> dict[str, Any]:
    """Verify a manifest against the chain: anchored, weights, signatures against the signers valid
    at anchoring time, revocation, lineage."""
    from verifier.manifests import verify_manifest_doc

    manifest = _parse(doc)
    with svc.session() as s:
        confusions = svc.confusions(s, manifest.release_name.namespace)
        return verify_manifest_doc(s, manifest, svc.chain_view(), confusions).as_json()


# --- endorsements and filings ---------------------------------------------------------------


@endorsements.get(
    "/releases/{namespace}/{model}/{version:path}/endorsements",
    operation_id="listEndorsements",
    responses=problem_responses(404),
    **typed(schemas.EndorsementList),
)
def list_endorsements(namespace: str, model: str, version: str, svc: ServicesDep) -> dict[str, Any]:
    settings = svc.settings
    with svc.session() as s:
        r = _release_or_404(s, namespace, model, version)
        found = queries.endorsements_of(s, r, settings.trust, settings.trust_labels)
        return {"release": queries.release_name(r), "endorsements": found}


@endorsements.get("/filings", operation_id="listFilings", **typed(schemas.FilingList))
def list_filings(svc: ServicesDep) -> dict[str, Any]:
    """The public list of regulator filings: filing number, release, status per the trust list."""
    settings = svc.settings
    with svc.session() as s:
        return {"filings": queries.filings(s, settings.trust, settings.trust_labels), "trust": settings.trust}


# --- the app-store check -------------------------------------------------------------------


@check.get("/check", operation_id="check", responses=problem_responses(422, 503), **typed(schemas.CheckVerdict))
async def check_endpoint(
    svc: ServicesDep,
    url: UrlQuery,
    release: ReleaseQuery | None = None,
) -> dict[str, Any]:
    """Is the chatbot at ``url`` really ``release``? One verdict with named checks and the chain view.

    The verifier contacts ``url``: these checks are rate-limited per client and per target host
    (429) and run a bounded number at a time (503 when the queue is full), both with ``Retry-After``."""
    claimed = _parse_url_and_release(url, release or None)
    async with svc.slots.slot():  # and, in the thread, the bound shared with in-process check jobs
        result = await run_in_threadpool(svc.check_bounded, url, claimed)
    return result.verdict.as_json()


def _parse_url_and_release(url: str, release: str | None) -> ReleaseName | None:
    """The two query parameters of the check routes, refused (422) as their schema says."""
    from verifier.probe import chatbot_url

    try:
        chatbot_url(url)
    except InputError as exc:
        raise Problem(422, "invalid-url", "Invalid URL", exc.message, hint=exc.hint) from None
    if release is None:
        return None
    try:
        return ReleaseName.parse(release)
    except InputError as exc:
        raise Problem(422, "invalid-release", "Invalid release name", exc.message) from None


# --- endpoint checks as jobs (the bulk path: a job with a status URL) -------------------------

_STARTED = {"headers": {"Location": {"description": "the job's status URL", "schema": {"type": "string"}}}}
JobIdPath = Annotated[str, Path(max_length=64, description="the job's id, as its start answered")]


def _check_job_json(task: Task) -> dict[str, Any]:
    data = task.input or {}
    return {**task.as_json(), "url": data.get("url"), "release": data.get("release"), "verdict": task.result}


@check.post(
    "/check-jobs",
    status_code=202,
    operation_id="startCheckJob",
    responses={202: _STARTED, **problem_responses(422, 503)},
    **typed(schemas.CheckJobStarted),
)
def start_check_job(
    svc: ServicesDep,
    url: UrlQuery,
    request: Request,
    response: Response,
    release: ReleaseQuery | None = None,
) -> dict[str, Any]:
    """``GET /v1/check`` as a job, for checking many chatbots (an app store re-checking its
    listings): answers 202 with the job at once; poll ``GET /v1/check-jobs/{id}`` until ``state``
    is ``done`` (with the verdict ``/v1/check`` gives) or ``error`` (with the reason; an endpoint
    that cannot be reached at all is an error, to try again later, unless the verdict is decided
    without it: ``revoked`` is ``done``). Rate-limited as ``/v1/check`` is (429); 503 with
    ``Retry-After`` when too many jobs wait, all clients' or yours."""
    claimed = _parse_url_and_release(url, release or None)
    data = {"url": url, "release": str(claimed) if claimed else None}
    task = svc.start_job("check", data, client=_client(request.scope))
    body = {**_check_job_json(task), "statusUrl": f"/v1/check-jobs/{task.id}"}
    response.headers["Location"] = body["statusUrl"]
    return body


@check.get(
    "/check-jobs/{job_id}",
    operation_id="getCheckJob",
    responses=problem_responses(404),
    **typed(schemas.CheckJob),
)
def get_check_job(job_id: JobIdPath, svc: ServicesDep) -> dict[str, Any]:
    """An endpoint-check job: its state and, once done, the verdict."""
    task = svc.tasks.get(job_id, "check")
    if task is None:
        raise Problem(404, "job-not-found", "No such check job", f"no check job {job_id!r}")
    return _check_job_json(task)


# --- behavioural checks (long-running: a job with a status URL) ------------------------------


@check.post(
    "/behaviour-checks",
    status_code=202,
    operation_id="startBehaviourCheck",
    responses={
        202: {"headers": {"Location": {"description": "the job's status URL", "schema": {"type": "string"}}}},
        **problem_responses(404, 422, 503),
    },
    **typed(schemas.BehaviourJobStarted),
)
def start_behaviour(
    svc: ServicesDep,
    url: UrlQuery,
    release: ReleaseQuery,
    response: Response,
) -> dict[str, Any]:
    """Start a behavioural check: fresh prompts to the endpoint, replayed on the reference weights.
    Answers 202 with the job; poll ``GET /v1/behaviour-checks/{id}``."""
    name = _parse_url_and_release(url, release)
    assert name is not None
    with svc.session() as s:
        r = _release_or_404(s, name.namespace, name.model, name.version)
        weights = r.weights_digest
    job = svc.behaviour.submit(url, name, weights)
    body = {**job.as_json(), "statusUrl": f"/v1/behaviour-checks/{job.id}"}
    response.headers["Location"] = body["statusUrl"]
    return body


@check.get("/behaviour-checks", operation_id="listBehaviourChecks", **typed(schemas.BehaviourRuns))
def list_behaviour(
    svc: ServicesDep,
    url: UrlQuery,
    release: ReleaseQuery,
) -> dict[str, Any]:
    """Every finished behavioural check of this endpoint and release that is kept, newest first, and
    the one ``/v1/check`` reports (the latest decisive result)."""
    _parse_url_and_release(url, release)
    behaviour = svc.behaviour
    latest = behaviour.latest(url, release)
    runs = [j.as_json() for j in reversed(behaviour.history(url, release))]
    return {"url": url, "release": release, "reported": latest.id if latest else None, "runs": runs}


@check.get(
    "/behaviour-checks/{job_id}",
    operation_id="getBehaviourCheck",
    responses=problem_responses(404),
    **typed(schemas.BehaviourJob),
)
def get_behaviour(job_id: str, svc: ServicesDep) -> dict[str, Any]:
    job = svc.behaviour.jobs.get(job_id)
    if job is None:
        raise Problem(404, "job-not-found", "No such behavioural check", f"no job {job_id!r}")
    result: dict[str, Any] = job.as_json()
    return result


# --- receipt audits -------------------------------------------------------------------------


class ReceiptAuditBody(BaseModel):
    """A kept answer: the exact request and response bodies (as sent and received, UTF-8) and the
    ``Model-Receipt`` header value that came with the response."""

    model_config = ConfigDict(extra="forbid")
    request: str = Field(max_length=MAX_AUDIT_BYTES, description="the exact request body you sent")
    response: str = Field(max_length=MAX_AUDIT_BYTES, description="the exact response body you received")
    receipt: str = Field(min_length=1, max_length=16_384, description="the Model-Receipt header value")


AUDIT_WAIT_SECONDS = 30.0
"""How long ``POST /v1/receipt-audits`` waits for a worker's audit (queue mode) before it answers 202."""
AUDIT_POLL_SECONDS = (0.25, 0.5, 1.0)
"""The waits between two looks at the job: then a second each."""


def audit_polls(wait: float = AUDIT_WAIT_SECONDS) -> list[float]:
    """The pauses of ``POST /v1/receipt-audits`` between its looks at the job (backing off)."""
    pauses: list[float] = []
    while sum(pauses) < wait:
        pauses.append(AUDIT_POLL_SECONDS[min(len(pauses), len(AUDIT_POLL_SECONDS) - 1)])
    return pauses


def _audit_job_json(task: Task) -> dict[str, Any]:
    return {**task.as_json(), "audit": task.result}


def _audit_started(task: Task) -> dict[str, Any]:
    return {**_audit_job_json(task), "statusUrl": f"/v1/receipt-audit-jobs/{task.id}"}


def _audit_input(body: ReceiptAuditBody) -> dict[str, Any]:
    return {"request": body.request, "response": body.response, "receipt": body.receipt}


@check.post(
    "/receipt-audits",
    operation_id="auditReceipt",
    responses={
        202: {"model": schemas.AuditJobStarted, "description": "Not finished yet: poll the job", **_STARTED},
        **problem_responses(422, 503),
    },
    **typed(schemas.Audit),
)
async def audit_receipt(body: ReceiptAuditBody, svc: ServicesDep, request: Request) -> Any:
    """Replay a kept, deterministic (temperature 0) chat request on the registered weights and say
    whether they give the answer the operator signed: ``match``, ``mismatch`` (with the evidence:
    the signed receipt, the answer and the replay) or ``not-auditable`` (with the reason). A
    receipt that does not verify over these exact bytes is refused (422).

    Where workers run the replays (``MODELSEAL_JOBS=queue``) the audit is a job: this waits up to
    30 seconds for its result, then answers 202 with the job (``statusUrl``, ``Location``; poll
    ``GET /v1/receipt-audit-jobs/{id}``). A job that failed answers 503."""
    if svc.settings.jobs != "queue":
        audit = await run_in_threadpool(svc.audit, body.request.encode(), body.response.encode(), body.receipt)
        return audit.as_json()
    task = await run_in_threadpool(svc.start_job, "audit", _audit_input(body), _client(request.scope))
    current: Task | None = task
    for pause in [0.0, *audit_polls()]:  # an await between looks: no thread is held while the worker replays
        if pause:
            await asyncio.sleep(pause)
            current = await run_in_threadpool(svc.tasks.status, task.id, "audit")  # not the input
        if current is not None and current.state == "done":
            return current.result
        if current is None or current.state == "error":
            why = current.error if current is not None else "the job is gone"
            raise Problem(
                503, "audit-failed", "The audit could not run", f"the audit job failed: {why}", job=task.id,
                retryAfter=60, headers={"Retry-After": "60"},
            )  # fmt: skip
    assert current is not None
    started = schemas.AuditJobStarted.model_validate(_audit_started(current))
    content = started.model_dump(mode="json", by_alias=True)
    return JSONResponse(content, status_code=202, headers={"Location": content["statusUrl"]})


@check.post(
    "/receipt-audit-jobs",
    status_code=202,
    operation_id="startReceiptAuditJob",
    responses={202: _STARTED, **problem_responses(422, 503)},
    **typed(schemas.AuditJobStarted),
)
def start_audit_job(body: ReceiptAuditBody, svc: ServicesDep, request: Request, response: Response) -> dict[str, Any]:
    """``POST /v1/receipt-audits`` as a job: the receipt is verified now (422 when it does not
    verify over these bytes), the replay runs later (on a worker that holds the weights, in queue
    mode). Answers 202 with the job; poll ``GET /v1/receipt-audit-jobs/{id}``. The id is the only
    key to the result: keep it private. The same input asked again while its audit is unfinished
    or just finished answers that job. 503 with ``Retry-After`` when too many audits wait, all
    clients' or yours."""
    task = svc.start_job("audit", _audit_input(body), _client(request.scope))
    started = _audit_started(task)
    response.headers["Location"] = started["statusUrl"]
    return started


@check.get(
    "/receipt-audit-jobs/{job_id}",
    operation_id="getReceiptAuditJob",
    responses=problem_responses(404),
    **typed(schemas.AuditJob),
)
def get_audit_job(job_id: JobIdPath, svc: ServicesDep) -> dict[str, Any]:
    """A receipt-audit job: its state and, once done, the audit."""
    task = svc.tasks.get(job_id, "audit")
    if task is None:
        raise Problem(404, "job-not-found", "No such audit job", f"no audit job {job_id!r}")
    return _audit_job_json(task)


# --- monitor -------------------------------------------------------------------------------


@monitor.get("/feed", operation_id="feed", **typed(schemas.Feed))
def get_feed(
    svc: ServicesDep,
    namespace: str | None = None,
    cursor: Annotated[int, Query(ge=0, le=2**63 - 1, description="the last event id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Events that matter to a publisher, oldest first after ``cursor``. With ``namespace``: its
    own events plus any namespace claimed that could be mistaken for it."""
    with svc.session() as s:
        return queries.feed(s, namespace, cursor, limit)


# endorsements before releases: ".../{version}/endorsements" must not be read as a version ending
# in "/endorsements" by the release route's {version:path}
ROUTERS = (health, namespaces, endorsements, releases, weights, manifests, check, monitor)
