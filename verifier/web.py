"""The verifier's web page for people: search, a namespace, a release, the check, the filings.

Plain server-rendered HTML (Jinja2 templates in ``verifier/templates``, one inline stylesheet, no
JavaScript, no external assets), read from the index through the same :mod:`verifier.index.queries` and
:mod:`verifier.check` functions as the ``/v1`` API, so both show the same facts.

Everything read from the chain or uploaded (names, DIDs, revocation reasons, manifests) is
untrusted: templates are autoescaped, path segments in links are percent-encoded, no value from
the chain becomes a whole link, and pages carry a Content-Security-Policy that allows no script.
Errors outside the API (``/v1``, ``/openapi.json``, ``/docs``, ``/redoc``) are HTML pages; the
API keeps its problem details. :func:`install` adds the routes and the error pages to an app.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry.errors import InputError, ModelsealError
from registry.names import ReleaseName
from verifier.api import DIGEST, ServicesDep
from verifier.errors import Problem
from verifier.index import queries
from verifier.problems import PROBLEM_JSON
from verifier.services import Services

TEMPLATES = Path(__file__).resolve().parent / "templates"
API_PATHS = ("/v1", "/openapi.json", "/docs", "/redoc")
"""Paths that answer machines: their errors stay problem details."""

MAX_QUERY = 256
MAX_URL = 2048  # as the /v1/check API
RECENT = 20

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
    "mismatch": "Proven false: something does not match what is anchored on the chain.",
    "revoked": "The publisher revoked this release.",
}


def _segment(value: object) -> str:
    """One URL path segment: every reserved character percent-encoded (``/`` too)."""
    return quote(str(value), safe="")


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _short(value: object, keep: int = 12) -> str:
    text = str(value)
    return text if len(text) <= keep + 1 else text[:keep] + "\u2026"


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


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``template`` with ``context`` (autoescaped), with the security headers."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _printable(text: str) -> bool:
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _site(svc: Services) -> dict[str, Any]:
    """What the footer says about the source of the facts (database only, no chain call)."""
    try:
        indexed: int | None = svc.indexer.indexed_block()
    except Exception:
        indexed = None
    return {"registry": svc.indexer.address, "indexed": indexed}


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
    data = None
    confusions: list[dict[str, Any]] = []
    if _printable(name) and len(name) <= MAX_QUERY:
        with svc.session() as s:
            data = queries.get_namespace(s, name, svc.chain_time())
            confusions = svc.confusions(s, name) if len(name) <= 64 else []
    if data is None:
        return render("namespace_missing.html", status=404, name=name, confusions=confusions, q=name, site=_site(svc))
    return render("namespace.html", ns=data, confusions=confusions, site=_site(svc))


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
    return render("release.html", r=detail, confusions=confusions, site=_site(svc))


# --- the check -----------------------------------------------------------------------------


@router.get("/check")
async def check_page(svc: ServicesDep, url: str | None = None, release: str | None = None) -> HTMLResponse:
    """The app-store check for a person: the verdict word, each named check, the chain view."""
    given_url = (url or "").strip()
    given_release = (release or "").strip()
    errors: list[str] = []
    result = None
    confusions: list[dict[str, Any]] = []
    if url is not None:
        claimed = None
        if not given_url:
            errors.append("Paste the chatbot's address (its URL).")
        elif len(given_url) > MAX_URL:
            errors.append(f"The URL is too long ({len(given_url)} characters; at most {MAX_URL}).")
        elif not re.match(r"https?://", given_url):
            errors.append("The URL must start with https:// or http://.")
        if given_release:
            try:
                claimed = ReleaseName.parse(given_release)
            except InputError as exc:
                errors.append(f"The release is not a valid name: {exc.message}")
        if not errors:
            async with svc.slots.slot():
                checked = await run_in_threadpool(svc.check, given_url, claimed)
            result, confusions = checked.verdict.as_json(), checked.confusions
    return render(
        "check.html",
        status=422 if errors else 200,
        url=given_url,
        release=given_release,
        errors=errors,
        result=result,
        confusions=confusions,
        meaning=VERDICT_MEANING,
        site=_site(svc),
    )


# --- filings -------------------------------------------------------------------------------


@router.get("/filings")
def filings_page(svc: ServicesDep) -> HTMLResponse:
    with svc.session() as s:
        rows = queries.filings(s, svc.settings.trust)
    return render("filings.html", filings=rows, trust=svc.settings.trust, site=_site(svc))


# --- error pages ---------------------------------------------------------------------------

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PATHS)


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
            site=None,
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
