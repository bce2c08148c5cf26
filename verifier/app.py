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
from registry.artifacts import load_deployment
from registry.errors import ChainError
from verifier import problems, web
from verifier.api import ROUTERS
from verifier.db import make_engine
from verifier.indexer import BackgroundIndexer, Indexer
from verifier.services import Services
from verifier.settings import VerifierSettings, get_settings


def build_services(settings: VerifierSettings, w3: Web3 | None = None) -> Services:
    w3 = w3 or Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:
        raise ChainError(f"cannot reach the chain at {settings.rpc_url} ({type(exc).__name__})") from None
    if settings.chain_id is not None and chain_id != settings.chain_id:
        raise ChainError(f"{settings.rpc_url} serves chain {chain_id}, not {settings.chain_id}")
    address, deploy_block = settings.registry, settings.deploy_block
    if address is None:
        deployment = load_deployment(settings.home, chain_id)
        if deployment is None:
            raise ChainError(
                f"no registry address for chain {chain_id}",
                hint="set MODELSEAL_REGISTRY, or start the dev chain with `modelseal chain up`",
            )
        address = deployment.address
        deploy_block = deploy_block if deploy_block is not None else deployment.block
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url())
    indexer = Indexer(
        engine,
        w3,
        address,
        deploy_block=deploy_block or 0,
        confirmations=settings.confirmations,
        batch_blocks=settings.batch_blocks,
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
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    web.install(app)
    return app
