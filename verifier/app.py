"""The verifier service: ``create_app(settings)`` builds the FastAPI app.

It connects to the chain named by the settings, finds the registry (setting, or the deployments
record the dev chain writes), opens the index database (SQLite in the data folder by default),
and - unless ``index_in_background`` is off - follows the chain in a background thread. Reads
are served from the index; ``/v1/health`` says how far behind the chain head it is.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url
from web3 import Web3

import registry
from registry.chain.client import RegistryClient
from registry.chain.connect import connect
from verifier import problems, web
from verifier.api import ROUTERS
from verifier.cache import ReadCache
from verifier.index.indexer import BackgroundIndexer, Indexer
from verifier.index.lease import Lease
from verifier.index.schema import make_engine
from verifier.limits import Limits
from verifier.metrics import CONTENT_TYPE
from verifier.services import Services
from verifier.settings import VerifierSettings, get_settings


def build_services(settings: VerifierSettings, w3: Web3 | None = None) -> Services:
    """Connect to the chain (:func:`registry.chain.connect.connect`), open the index database and
    make the indexer; ``w3`` overrides the RPC URL (in-process chains in tests)."""
    conn = connect(settings, w3=w3)
    RegistryClient(conn.w3, conn.address).check_version()
    deploy_block = settings.deploy_block if settings.deploy_block is not None else conn.deploy_block
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.db_url(conn.chain_id, conn.address)
    engine = make_engine(url)
    # the indexer's own connections (lease renewals never wait for requests'); one in-memory
    # SQLite database is one connection's, so it keeps the one engine
    in_memory = url.startswith("sqlite") and make_url(url).database in (None, "", ":memory:")
    writer = engine if in_memory else make_engine(url, writer=True)
    indexer = Indexer(
        writer,
        conn.w3,
        conn.address,
        deploy_block=deploy_block,
        confirmations=settings.confirmations_on(conn.chain_id),
        batch_blocks=settings.batch_blocks,
        lease=Lease(writer, ttl=settings.lease_seconds),
    )
    background = BackgroundIndexer(indexer, settings.poll_seconds) if settings.index_in_background else None
    return Services(settings, engine, indexer, background, registry.__version__)


def create_app(settings: VerifierSettings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    svc = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise pause every request for tens of milliseconds
        gc.collect()
        gc.freeze()
        if svc.background is not None:
            svc.background.start()
        try:
            yield
        finally:
            try:
                if svc.background is not None:
                    svc.background.stop()
            finally:
                svc.close()  # job threads: jobs not started are cancelled and recorded as failed

    app = FastAPI(
        title="modelseal verifier",
        version=registry.__version__,
        summary="Which model does this chatbot really run? Verdicts anchored on Ethereum.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # no OpenTelemetry here (metrics are Prometheus', /metrics): FastAPI would otherwise look
        # for configured providers on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = svc
    app.add_middleware(ReadCache)  # inside the limits: a cached answer is still a counted request
    app.add_middleware(Limits, settings=settings)
    problems.install(app)
    problems.install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    install_docs(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics of this replica (:mod:`verifier.metrics`)."""
        return Response(svc.metrics.render(), media_type=CONTENT_TYPE)

    web.install(app)
    return app


# --- API documentation pages, served offline ----------------------------------------------------

DOCS_ASSETS = "/docs-assets"
"""Where Swagger UI's and ReDoc's files are served from: the copies the ``fastapi-offline``
package ships (no CDN: the pages work without the internet)."""
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: str) -> str:
    """The Content-Security-Policy of a documentation page: scripts from this verifier only (its
    files, and the page's own inline start-up script by its hash), nothing from elsewhere. ReDoc
    runs its search in a worker made from a blob and both viewers style inline."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}".rstrip()
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src blob:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with their assets served by the verifier."""
    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="docs-assets")
    title = app.title

    def page(request: Request, viewer: str) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        openapi, assets = f"{root}{app.openapi_url}", f"{root}{DOCS_ASSETS}"
        if viewer == "swagger":
            html = get_swagger_ui_html(
                openapi_url=openapi,
                title=f"{title} - Swagger UI",
                swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                swagger_css_url=f"{assets}/swagger-ui.css",
                swagger_favicon_url=f"{assets}/favicon.png",
                swagger_ui_parameters={"validatorUrl": None},  # never sends the document elsewhere
            )
        else:
            html = get_redoc_html(
                openapi_url=openapi,
                title=f"{title} - ReDoc",
                redoc_js_url=f"{assets}/redoc.standalone.js",
                redoc_favicon_url=f"{assets}/favicon.png",
                with_google_fonts=False,
            )
        text = bytes(html.body).decode()
        headers = {"Content-Security-Policy": docs_csp(text), "X-Content-Type-Options": "nosniff",
                   "Referrer-Policy": "no-referrer"}  # fmt: skip
        return HTMLResponse(text, headers=headers)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return page(request, "swagger")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return page(request, "redoc")
