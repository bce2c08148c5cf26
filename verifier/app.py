"""The verifier service: ``create_app(settings)`` builds the FastAPI app.

It connects to the chain named by the settings, finds the registry (setting, or the deployments
record the dev chain writes), opens the index database (SQLite in the data folder by default),
and - unless ``index_in_background`` is off - follows the chain in a background thread. Reads
are served from the index; ``/v1/health`` says how far behind the chain head it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from web3 import Web3

import registry
from registry.chain.client import RegistryClient
from registry.chain.connect import connect
from verifier import problems, web
from verifier.api import ROUTERS
from verifier.index.indexer import BackgroundIndexer, Indexer
from verifier.index.lease import Lease
from verifier.index.schema import make_engine
from verifier.limits import Limits
from verifier.services import Services
from verifier.settings import VerifierSettings, get_settings


def build_services(settings: VerifierSettings, w3: Web3 | None = None) -> Services:
    """Connect to the chain (:func:`registry.chain.connect.connect`), open the index database and
    make the indexer; ``w3`` overrides the RPC URL (in-process chains in tests)."""
    conn = connect(settings, w3=w3)
    RegistryClient(conn.w3, conn.address).check_version()
    deploy_block = settings.deploy_block if settings.deploy_block is not None else conn.deploy_block
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url(conn.chain_id, conn.address))
    indexer = Indexer(
        engine,
        conn.w3,
        conn.address,
        deploy_block=deploy_block,
        confirmations=settings.confirmations,
        batch_blocks=settings.batch_blocks,
        lease=Lease(engine, ttl=settings.lease_seconds),
    )
    background = BackgroundIndexer(indexer, settings.poll_seconds) if settings.index_in_background else None
    return Services(settings, engine, indexer, background, registry.__version__)


def create_app(settings: VerifierSettings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()
    svc = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if svc.background is not None:
            svc.background.start()
        try:
            yield
        finally:
            if svc.background is not None:
                svc.background.stop()

    app = FastAPI(
        title="modelseal verifier",
        version=registry.__version__,
        summary="Which model does this chatbot really run? Verdicts anchored on Ethereum.",
        lifespan=lifespan,
    )
    app.state.services = svc
    app.add_middleware(Limits, settings=settings)
    problems.install(app)
    problems.install_openapi(app)
    for router in ROUTERS:
        app.include_router(router)
    web.install(app)
    return app
