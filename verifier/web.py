"""The verifier's web page for people: search, a namespace, a release, the check, the filings.

Plain server-rendered HTML (Jinja2 templates in ``verifier/templates``, one inline stylesheet, no
JavaScript, no external assets), read from the index through the same :mod:`verifier.index.queries` and
:mod:`verifier.check` functions as the ``/v1`` API, so both show the same facts.

Everything read from the chain or uploaded (names, DIDs, revocation reasons, manifests) is
untrusted: templates are autoescaped, path segments in links are percent-encoded, no value from
the chain becomes a whole link, and pages carry a Content-Security-Policy that allows no script.
Errors outside the API (``/v1``, ``/openapi.json``, ``/docs``, ``/redoc``) are HTML pages; the
API keeps its problem details. :func:`install` adds the routes and the error pages to an app.

What a person reads, on a phone as on a desktop (390 CSS px and up without sideways scrolling):

* every page names the chain its facts come from (id, name, a development chain marked as one)
  and the block the index reached (:func:`_site`);
* times are UTC, ``2026-11-30 14:03 UTC`` (:func:`readable_time`); hashes, addresses and DIDs in
  lists are shortened, the full value a click away (``<details>``) and in the ``title``;
* the check's banner names the failing checks in words (:func:`banner`) and lists the verdict's
  warnings inside it: a ``verified`` with warnings is amber, never green;
* a behavioural check starts from a button (``POST /check/behaviour``, same-origin only) and its
  progress page refreshes itself with ``<meta http-equiv="refresh">``: still no script.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry import times
from registry.chains import chain_name, is_development
from registry.errors import InputError, ModelsealError
from registry.names import ReleaseName
from registry.verdict import WARNING_CODES
from verifier.api import DIGEST, ServicesDep
from verifier.errors import NoReference, Problem
from verifier.index import queries
from verifier.index.schema import Checkpoint
from verifier.probe import chatbot_url
from verifier.problems import PROBLEM_JSON
from verifier.services import Services

TEMPLATES = Path(__file__).resolve().parent / "templates"
API_PATHS = ("/v1", "/openapi.json", "/docs", "/redoc", "/metrics")
"""Paths that answer machines: their errors stay problem details."""

MAX_QUERY = 256
RECENT = 20
REFRESH_SECONDS = 3
"""How often a running behavioural check's page reloads itself."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

VERDICT_MEANING = {
    "verified": "Every check that could run passed.",
    "unverified": (
        "This could not be proven: the release is not registered, or a check could not run. "
        "That is not proof of fraud, but nothing here vouches for the chatbot."
    ),
    "mismatch": "Proven false: what this chatbot answered does not match what is anchored on the chain.",
    "revoked": "The publisher revoked this release.",
}

CHECK_WORDS = {
    "release": "release record",
    "not-revoked": "revocation check",
    "names": "name check",
    "identity": "identity claim",
    "challenge": "challenge",
    "receipt": "signed receipt",
    "chain": "authorisation on the chain",
    "behaviour": "behavioural check",
    "chain-fresh": "freshness of the index",
}
"""Each check's name as a person reads it in the banner ("the challenge failed: ...")."""

OUTCOME_WORDS = {"fail": "failed", "error": "could not complete", "skip": "could not run"}

WARNING_TITLES = {
    "confusable-name": "Look-alike name",
    "relayed-answers": "Relayed answers",
    "stale-index": "The facts may be old",
    "behaviour-not-established": "Behaviour not established",
    "dev-chain": "Development chain",
}
"""A heading per warning code (:data:`registry.verdict.WARNING_CODES` says what each means)."""

_API_HINT = re.compile(r"\s*\((?:POST|GET) /v1/[^)]*\)")
_API_CALL = re.compile(r"(POST|GET|PUT|DELETE) /v1/")
"""An API instruction inside a check's detail ("(POST /v1/behaviour-checks to start one)"): meant
for a program; the page offers a button instead."""


def _segment(value: object) -> str:
    """One URL path segment: every reserved character percent-encoded (``/`` too)."""
    return quote(str(value), safe="")


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _short(value: object) -> str:
    """A long hash, address or DID as its two ends: ``0x14dC…9955``, ``4f2adaa0…bafd``,
    ``did:key:z6Mkm6…EjPs``. Short values stay as they are."""
    text = str(value)
    if len(text) <= 18:
        return text
    if text.startswith("0x"):
        return f"{text[:6]}\u2026{text[-4:]}"
    if text.startswith("did:"):
        method = text[: text.rfind(":") + 1]
        if len(method) < len(text) - 10:
            return f"{text[: len(method) + 6]}\u2026{text[-4:]}"
    return f"{text[:8]}\u2026{text[-4:]}"


_ISO = re.compile(r"([+-]?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z")


def readable_time(value: object) -> str:
    """``2026-11-30 14:03 UTC`` from ISO 8601 (as the index gives times) or unix seconds."""
    if isinstance(value, bool) or value is None:
        return ""
    text = times.iso(value) if isinstance(value, int) else str(value)
    m = _ISO.fullmatch(text)
    if m is None:
        return text
    year, month, day, hh, mm, _ = m.groups()
    return f"{year}-{month}-{day} {hh}:{mm} UTC"


def iso_time(value: object) -> str:
    """The machine form for ``<time datetime>``: ISO 8601 from unix seconds, else as given."""
    return times.iso(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)


def for_people(text: object) -> str:
    """A check's detail without the API instructions meant for programs (and without a leading
    "warning: ": the page marks warnings itself)."""
    return _API_HINT.sub("", str(text)).removeprefix("warning: ")


def evidence_for_people(evidence: dict[str, Any]) -> dict[str, Any]:
    """A check's evidence without the API instructions meant for programs (``"start": "POST
    /v1/behaviour-checks"``): the page offers a button instead."""
    return {k: v for k, v in evidence.items() if not (isinstance(v, str) and _API_CALL.match(v))}


_HEX_VALUE = re.compile(r"(0x)?[0-9a-fA-F]{40,}")
_TIME_ARG = re.compile(r"time|.*(At|From|Until|Time)")
_DERIVED_ARG = re.compile(r".*(Id|Hash)$")


def event_details(args: dict[str, Any]) -> list[dict[str, Any]]:
    """An event's arguments as a person reads them: times as times, hashes, addresses and DIDs
    shortened (``kind`` ``hash``), and ids the chain derives from the names shown beside them
    (``namespaceId``, ``didHash``, ...) left out. ``0`` times and empty values are left out too."""
    shown = []
    for key, value in args.items():
        if _DERIVED_ARG.fullmatch(key) or value in ("", None, []):
            continue
        if _TIME_ARG.fullmatch(key) and isinstance(value, int) and not isinstance(value, bool):
            if value:
                shown.append({"key": key, "kind": "time", "value": value})
        elif isinstance(value, str) and (_HEX_VALUE.fullmatch(value) or value.startswith("did:")):
            shown.append({"key": key, "kind": "hash", "value": value})
        elif isinstance(value, list):
            shown.append({"key": key, "kind": "text", "value": ", ".join(str(v) for v in value)})
        else:
            shown.append({"key": key, "kind": "text", "value": value})
    return shown


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["seg"] = _segment
_env.filters["pretty"] = _pretty
_env.filters["short"] = _short
_env.filters["readable_time"] = readable_time
_env.filters["iso_time"] = iso_time
_env.filters["for_people"] = for_people
_env.filters["evidence_for_people"] = evidence_for_people
_env.globals["event_details"] = event_details


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template`` with ``context`` (autoescaped), with the security headers."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _printable(text: str) -> bool:
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _site(svc: Services) -> dict[str, Any]:
    """The line every page shows about the source of its facts: the chain (id, name, whether it is
    a development chain), the registry contract and the block the index reached, with its time.
    From the index's checkpoint (the database, no chain call), or before the first block is
    indexed from the indexer's own view."""
    site: dict[str, Any] = {"registry": svc.indexer.address, "chainId": None, "indexed": None, "indexedAt": None}
    try:
        with svc.session() as s:
            cp = s.get(Checkpoint, 1)
            if cp is not None:
                site.update(chainId=cp.chain_id, indexed=cp.block_number, indexedAt=cp.block_time)
        if site["chainId"] is None:
            site["chainId"] = svc.indexer.status(max_age=5.0).chain_id
    except Exception:  # the page still renders; the line says what is not known
        pass
    chain_id = site["chainId"]
    site["name"] = chain_name(chain_id) if chain_id is not None else None
    site["development"] = chain_id is not None and is_development(chain_id)
    return site


def _trust_labels(svc: Services) -> dict[str, str]:
    """Each endorser this verifier knows (lower-case address) as a person reads it: the name the
    trust list gives it (``MODELSEAL_TRUST_LABELS``) and what it is trusted for, e.g.
    ``Cyberspace Administration of China · trusted for filing.submitted``."""
    kinds: dict[str, list[str]] = {}
    for kind, accounts in sorted(svc.settings.trust.items()):
        for account in accounts:
            kinds.setdefault(account.lower(), []).append(kind)
    names = {account.lower(): name for account, name in svc.settings.trust_labels.items()}
    labels = {}
    for account in kinds.keys() | names.keys():
        parts = [names[account]] if account in names else []
        if account in kinds:
            parts.append("trusted for " + ", ".join(kinds[account]))
        labels[account] = " · ".join(parts)
    return labels


router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def home(svc: ServicesDep) -> HTMLResponse:
    with svc.session() as s:
        recent = queries.list_releases(s, None, None, RECENT, 0)
    return render("home.html", recent=recent, site=_site(svc))


# --- search --------------------------------------------------------------------------------


def _search(s: Session, svc: Services, q: str) -> dict[str, Any]:
    """Namespaces and releases matching ``q``, releases anchoring weights ``q`` (a digest), and
    registered namespaces the namespace part of ``q`` could be mistaken for."""
    found: dict[str, Any] = {
        "namespaces": [],
        "releases": [],
        "weights": None,
        "confusions": [],
        "term": None,
        "registered": False,
    }
    digest = q.lower().removeprefix("0x")
    if DIGEST.fullmatch(digest):
        count, listed = queries.releases_by_weights(s, digest, 500)
        found["weights"] = {"digest": digest, "releases": listed, "count": count}
        return found
    term = q.lower()
    if "/" in q:
        namespace, _, rest = q.partition("/")
        model = rest.partition("/")[0]
        candidates = queries.list_releases(s, namespace.lower(), model.lower() or None, 500, 0)
        found["releases"] = [r for r in candidates if r["release"].lower().startswith(term)]
    else:
        found["namespaces"] = queries.list_namespaces(s, term, 50, 0)
        found["releases"] = queries.list_releases(s, None, term, 50, 0)
    name = q.partition("/")[0]
    if 0 < len(name) <= 64:
        found["term"] = name
        found["confusions"] = svc.confusions(s, name)
        found["registered"] = queries.get_namespace(s, name, svc.chain_time()) is not None
    return found


@router.get("/search")
def search(svc: ServicesDep, q: str | None = None) -> HTMLResponse:
    query = (q or "").strip()
    error = None
    results = None
    if not query:
        pass  # the search form alone
    elif len(query) > MAX_QUERY:
        error = f"The search is too long ({len(query)} characters; at most {MAX_QUERY})."
    elif not _printable(query):
        error = "The search contains control characters."
    else:
        with svc.session() as s:
            results = _search(s, svc, query)
    return render(
        "search.html", status=200 if error is None else 422, q=query, error=error, results=results, site=_site(svc)
    )


# --- a namespace and a release ------------------------------------------------------------


@router.get("/ns/{name}")
def namespace_page(name: str, svc: ServicesDep) -> HTMLResponse:
    """A namespace: a warning when it could be mistaken for one registered before it; the
    look-alikes registered after it only as a notice (first registration wins)."""
    data = None
    confusions: list[dict[str, Any]] = []
    lookalikes: list[dict[str, Any]] = []
    if _printable(name) and len(name) <= MAX_QUERY:
        with svc.session() as s:
            data = queries.get_namespace(s, name, svc.chain_time())
            if len(name) <= 64:
                confusions, lookalikes = svc.name_standing(s, name)
    if data is None:
        return render("namespace_missing.html", status=404, name=name, confusions=confusions, q=name, site=_site(svc))
    return render(
        "namespace.html",
        ns=data,
        confusions=confusions,
        lookalikes=lookalikes,
        labels=_trust_labels(svc),
        site=_site(svc),
    )


@router.get("/r/{namespace}/{model}/{version:path}")
def release_page(namespace: str, model: str, version: str, svc: ServicesDep) -> HTMLResponse:
    detail = None
    confusions: list[dict[str, Any]] = []
    namespace_known = False
    name = f"{namespace}/{model}/{version}"
    if _printable(name) and len(name) <= MAX_QUERY:
        with svc.session() as s:
            r = queries.find_release(s, namespace, model, version)
            if r is not None:
                detail = queries.release_detail(s, r, svc.chain_time(), svc.settings.trust)
                confusions = svc.confusions(s, namespace)
            else:
                namespace_known = queries.get_namespace(s, namespace, svc.chain_time()) is not None
    if detail is None:
        return render(
            "release_missing.html",
            status=404,
            name=name,
            namespace=namespace,
            namespace_known=namespace_known,
            site=_site(svc),
        )
    return render("release.html", r=detail, confusions=confusions, labels=_trust_labels(svc), site=_site(svc))


# --- the check -----------------------------------------------------------------------------


def _check_input(url: str, release: str) -> tuple[list[str], ReleaseName | None]:
    """What is wrong with a chatbot URL and a claimed release, as the check form says it (and the
    release parsed, when given and valid). The check and the behavioural check read them alike."""
    errors: list[str] = []
    claimed = None
    if not url:
        errors.append("Paste the chatbot's address (its URL).")
    elif not re.match(r"https?://", url, re.IGNORECASE):
        errors.append("The URL must start with https:// or http://.")
    else:
        try:
            chatbot_url(url)
        except InputError as exc:
            errors.append(f"The URL cannot be checked: {exc.message}.")
    if release:
        try:
            claimed = ReleaseName.parse(release)
        except InputError as exc:
            errors.append(f"The release is not a valid name: {exc.message}")
    return errors, claimed


def banner(result: dict[str, Any]) -> dict[str, Any]:
    """What the verdict's banner says: its style (a ``verified`` with warnings is amber, not
    green), the checks that decided it, in words ("the challenge failed: ..."), and the warnings
    with a heading each."""
    verdict, checks = result["verdict"], result["checks"]
    if verdict == "verified":
        deciding = []
    elif verdict in ("mismatch", "revoked"):
        deciding = [c for c in checks if c["status"] == "fail"]
    else:
        deciding = [c for c in checks if c["status"] in ("fail", "error") or (c["status"] == "skip" and c["required"])]
    reasons = [
        {
            "check": c["name"],
            "words": f"the {CHECK_WORDS.get(c['name'], c['name'] + ' check')} {OUTCOME_WORDS[c['status']]}",
            "detail": for_people(c["detail"]),
        }
        for c in deciding
    ]
    warnings = [
        {
            "code": w["code"],
            "title": WARNING_TITLES.get(w["code"], w["code"]),
            "message": for_people(w["message"]),
            "meaning": WARNING_CODES.get(w["code"], ""),
            "check": w.get("check"),
        }
        for w in result.get("warnings", [])
    ]
    style = "verified warned" if verdict == "verified" and warnings else verdict
    return {"style": style, "reasons": reasons, "warnings": warnings}


def _behaviour_offer(svc: Services, url: str, result: dict[str, Any]) -> dict[str, Any] | None:
    """Whether the check page can offer a behavioural check of this endpoint: its release is
    registered and this verifier holds reference weights for it. With the job already queued or
    running for the same endpoint and release, that job (its page shows the progress)."""
    release = result.get("release")
    if not release or not any(c["name"] == "release" and c["status"] == "pass" for c in result["checks"]):
        return None
    name = ReleaseName.parse(release)
    with svc.session() as s:
        r = queries.find_release(s, name.namespace, name.model, name.version)
        weights = r.weights_digest if r is not None else None
    if weights is None:
        return None
    behaviour = svc.behaviour
    held = weights in behaviour.store.digests()
    running = _running_job(svc, url, release)
    return {
        "release": release,
        "held": held,
        "job": running.as_json() if running is not None else None,
        "action": "/check/behaviour?" + urlencode({"url": url, "release": release}),
    }


def _running_job(svc: Services, url: str, release: str) -> Any:
    """A behavioural check of this endpoint and release that is queued or running, if any."""
    return svc.behaviour.jobs.unfinished(url, release)


@router.get("/check")
async def check_page(svc: ServicesDep, url: str | None = None, release: str | None = None) -> HTMLResponse:
    """The app-store check for a person: the verdict word, each named check, the chain view."""
    given_url = (url or "").strip()
    given_release = (release or "").strip()
    errors: list[str] = []
    result = None
    confusions: list[dict[str, Any]] = []
    offer = None
    if url is not None:
        errors, claimed = _check_input(given_url, given_release)
        if not errors:
            async with svc.slots.slot():
                checked = await run_in_threadpool(svc.check_bounded, given_url, claimed)
            result, confusions = checked.verdict.as_json(), checked.confusions
            offer = await run_in_threadpool(_behaviour_offer, svc, given_url, result)
    return render(
        "check.html",
        status=422 if errors else 200,
        url=given_url,
        release=given_release,
        errors=errors,
        result=result,
        banner=banner(result) if result else None,
        offer=offer,
        confusions=confusions,
        meaning=VERDICT_MEANING,
        words=CHECK_WORDS,
        site=_site(svc),
    )


# --- the behavioural check: a button, then a page that refreshes itself -------------------


def _same_origin(request: Request) -> bool:
    """Whether a browser sent this request from one of this verifier's own pages.

    The behavioural check makes the verifier contact a URL, so another site must not be able to
    start one with a hidden form (cross-site request forgery). Browsers say where a request comes
    from: ``Sec-Fetch-Site`` (every current browser) must be ``same-origin``; without it, an
    ``Origin`` must name this host. (``Origin: null`` is refused: this page's own forms send
    ``Sec-Fetch-Site``, and a sandboxed frame elsewhere sends ``null``.) A request with neither
    header comes from no browser (a program), which no other site can make a person's browser send;
    it is limited like any other request."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    try:
        return origin != "null" and urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


@router.post("/check/behaviour")
def start_behaviour_check(
    request: Request, svc: ServicesDep, url: str | None = None, release: str | None = None
) -> Response:
    """The check page's button: start a behavioural check of ``url`` against ``release`` (both in
    the query string, read exactly as the check form reads them), then 303 to its progress page.

    Protected as the API's ``POST /v1/behaviour-checks``: the same validation, the behavioural
    runner's own bound (jobs run one at a time, at most :data:`verifier.behaviour.MAX_PENDING_CHECKS`
    waiting, 503 beyond) and the rate limits of :class:`verifier.limits.Limits`; same-origin only
    (:func:`_same_origin`); and a second press while a check of the same endpoint and release is
    queued or running leads to that check instead of starting another."""
    if not _same_origin(request):
        return render(
            "error.html",
            status=403,
            code=403,
            title="Forbidden",
            detail="A behavioural check starts only from this verifier's own check page.",
            site=_site(svc),
        )
    given_url, given_release = (url or "").strip(), (release or "").strip()
    errors, claimed = _check_input(given_url, given_release)
    if claimed is None and not errors:
        errors.append("Name the release the chatbot claims to run: its behaviour is compared with those weights.")
    if errors or claimed is None:
        return render("error.html", status=422, code=422, title="The check could not start", detail=" ".join(errors),
                      site=_site(svc))  # fmt: skip
    with svc.session() as s:
        r = queries.find_release(s, claimed.namespace, claimed.model, claimed.version)
        weights = r.weights_digest if r is not None else None
    if weights is None:
        return render("error.html", status=404, code=404, title="Release not found",
                      detail=f"{claimed} is not published in the registry.", site=_site(svc))  # fmt: skip
    try:
        job = _running_job(svc, given_url, str(claimed)) or svc.behaviour.submit(given_url, claimed, weights)
    except NoReference as exc:
        return render("error.html", status=422, code=422, title="No reference weights",
                      detail=f"{exc.message}; {exc.hint}.", site=_site(svc))  # fmt: skip
    return RedirectResponse(f"/check/behaviour/{_segment(job.id)}", status_code=303, headers=SECURITY_HEADERS)


@router.get("/check/behaviour/{job_id}")
def behaviour_job_page(job_id: str, svc: ServicesDep) -> HTMLResponse:
    """A behavioural check's progress: reloads itself every :data:`REFRESH_SECONDS` while it is
    queued or running, then shows its result and leads back to the check."""
    job = svc.behaviour.jobs.get(job_id) if len(job_id) <= 64 else None
    if job is None:
        return render("error.html", status=404, code=404, title="Not found",
                      detail="There is no behavioural check with this id (finished checks are kept for a while).",
                      site=_site(svc))  # fmt: skip
    data = job.as_json()
    return render(
        "behaviour_job.html",
        job=data,
        running=data["state"] in ("queued", "running"),
        refresh=REFRESH_SECONDS,
        back="/check?" + urlencode({"url": data["url"], "release": data["release"]}),
        site=_site(svc),
    )


# --- filings -------------------------------------------------------------------------------


@router.get("/filings")
def filings_page(svc: ServicesDep) -> HTMLResponse:
    with svc.session() as s:
        rows = queries.filings(s, svc.settings.trust)
    return render("filings.html", filings=rows, trust=svc.settings.trust, labels=_trust_labels(svc), site=_site(svc))


# --- error pages ---------------------------------------------------------------------------

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


def _site_of(request: Request) -> dict[str, Any] | None:
    svc = getattr(request.app.state, "services", None)
    return _site(svc) if isinstance(svc, Services) else None


def _html_errors(original: Handler) -> Handler:
    """Wrap a problem-details handler: same status and words, as an HTML page outside the API."""

    async def handler(request: Request, exc: Exception) -> Response:
        response = original(request, exc)
        if inspect.isawaitable(response):
            response = await response
        if _is_api(request.url.path) or response.media_type != PROBLEM_JSON:
            return response
        try:
            body = json.loads(bytes(response.body))
        except ValueError:
            body = {}
        detail = str(body.get("detail") or "")
        if response.status_code == 404 and detail == "Not Found":
            detail = "There is no page at this address."
        page = render(
            "error.html",
            status=response.status_code,
            code=response.status_code,
            title=str(body.get("title") or "Error"),
            detail=detail,
            site=await run_in_threadpool(_site_of, request),
        )
        for name in ("Allow", "Retry-After"):  # what the status means needs them on the page too
            if name in response.headers:
                page.headers[name] = response.headers[name]
        return page

    return handler


def install(app: FastAPI) -> None:
    """Add the web pages to ``app``, and HTML error pages for every path outside the API.

    Call after :func:`verifier.problems.install`: the HTML pages wrap its handlers."""
    app.include_router(router)
    for exc_class in (StarletteHTTPException, RequestValidationError, Problem, ModelsealError, Exception):
        original = app.exception_handlers.get(exc_class)
        if original is not None:
            app.add_exception_handler(exc_class, _html_errors(original))
