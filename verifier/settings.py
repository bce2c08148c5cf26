"""The verifier service's settings, from ``MODELSEAL_*`` environment variables (pydantic-settings).

Moving from the dev chain and SQLite to a public chain and PostgreSQL is a change of settings:
``MODELSEAL_RPC_URL``, ``MODELSEAL_REGISTRY`` (or the deployments record), ``MODELSEAL_DATABASE_URL``
(``postgresql+psycopg://user@host/db``). Unsafe combinations are refused at start-up.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from registry.settings import ChainSettings

PUBLIC_CONFIRMATIONS = 12
"""Blocks the index stays below the head of a chain that is not a development chain, unless set:
about two and a half minutes on Ethereum; reorgs deeper than this are still undone, but a
shallower index would show facts that a common reorg takes back."""


class VerifierSettings(ChainSettings):
    """The chain fields of :class:`registry.settings.ChainSettings`, plus the service's own."""

    deploy_block: int | None = Field(
        default=None, description="first block to index (default: from the record, else 0)"
    )
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite in the data folder")
    confirmations: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description=f"blocks below the head before indexing (default: 0 on a development chain, "
        f"{PUBLIC_CONFIRMATIONS} elsewhere)",
    )
    batch_blocks: int = Field(default=2000, ge=1, le=100_000, description="blocks per eth_getLogs query")
    poll_seconds: float = Field(default=1.0, gt=0, description="indexer polling interval")
    lease_seconds: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="how long the indexer lease lasts unrenewed: after its holder dies, another replica indexes "
        "within this many seconds",
    )
    index_in_background: bool = Field(default=True, description="run the indexer inside the service")
    trust: dict[str, list[str]] = Field(
        default_factory=dict,
        description='endorser accounts recognised per kind, JSON: {"filing.approved": ["0x..."]}',
    )
    jobs: Literal["in-process", "queue"] = Field(
        default="in-process",
        description="where jobs (behavioural checks, endpoint-check jobs, receipt audits) run: in threads of the "
        "replica asked ('in-process'), or on the PostgreSQL task queue, taken by `modelseal verifier worker` "
        "processes ('queue')",
    )
    job_retention_days: float = Field(
        default=30,
        ge=1,
        le=3650,
        description="finished jobs (behavioural checks, check jobs, audits) older than this are deleted (the newest "
        "decisive behavioural result of each chatbot and release is always kept); at least a day",
    )
    job_retention_rows: int = Field(
        default=100_000,
        ge=100,
        le=100_000_000,
        description="at most this many finished jobs are kept per table; the oldest beyond go first",
    )
    trust_labels: dict[str, str] = Field(
        default_factory=dict,
        description='what to call each trusted endorser account, JSON: {"0x...": "Cyberspace Administration of China"}',
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="base URL used in links")
    receipt_window_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="an endpoint check refuses a Model-Receipt whose time is further than this from the verifier's "
        "clock (the probe's request was sent moments before, so its receipt must be fresh)",
    )
    allow_loopback_targets: bool = Field(
        default=False,
        description="let the guarded outbound client contact loopback addresses (demo and tests only)",
    )
    allow_private_targets: bool = Field(
        default=False,
        description="let the guarded outbound client contact private-network addresses (RFC 1918, ULA, CGNAT)",
    )

    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024, description="largest request body accepted (413)"
    )
    rate_limit: str = Field(default="600/minute", description="requests per client to /v1 (429 beyond)")
    outbound_rate_limit: str = Field(
        default="30/minute", description="requests per client that make the verifier contact a URL (checks)"
    )
    target_rate_limit: str = Field(
        default="60/minute", description="checks of one host, from all clients together (the verifier is no cannon)"
    )
    max_concurrent_checks: int = Field(default=8, ge=1, le=256, description="outbound checks running at once")
    max_queued_checks: int = Field(default=32, ge=0, le=10_000, description="checks waiting for a slot (503 beyond)")

    @field_validator("rate_limit", "outbound_rate_limit", "target_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as '30/minute' or '5/second'") from None
        return value

    @field_validator("trust", mode="before")
    @classmethod
    def _trust(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError('trust must be a JSON object such as {"filing.approved": ["0x..."]}')
        return {str(k): [str(a).lower() for a in v] for k, v in value.items()}

    @field_validator("trust_labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError('trust labels must be a JSON object such as {"0x...": "Regulator name"}')
        labels = {str(k).lower(): " ".join(str(v).split())[:120] for k, v in value.items()}
        if any(not label or not label.isprintable() for label in labels.values()):
            raise ValueError("a trust label must be printable text")
        return labels

    @model_validator(mode="after")
    def _lease_outlasts_polls(self) -> VerifierSettings:
        if self.lease_seconds < 3 * self.poll_seconds:
            raise ValueError(
                f"MODELSEAL_LEASE_SECONDS ({self.lease_seconds:g}) must be at least three polls "
                f"(MODELSEAL_POLL_SECONDS {self.poll_seconds:g}): the indexing replica renews its lease once a poll"
            )
        return self

    @model_validator(mode="after")
    def _queue_needs_postgres(self) -> VerifierSettings:
        if self.jobs == "queue" and not (self.database_url or "").startswith("postgresql"):
            raise ValueError("MODELSEAL_JOBS=queue needs a PostgreSQL MODELSEAL_DATABASE_URL (the queue lives there)")
        return self

    def confirmations_on(self, chain_id: int) -> int:
        """The confirmations to keep on chain ``chain_id``: the setting, else 0 on a development
        chain and :data:`PUBLIC_CONFIRMATIONS` on any other."""
        from registry.chains import is_development

        if self.confirmations is not None:
            return self.confirmations
        return 0 if is_development(chain_id) else PUBLIC_CONFIRMATIONS

    def db_url(self, chain_id: int, registry: str) -> str:
        """The index database: the setting, or a SQLite file in the data folder named after the chain
        and registry it indexes (``index-<chain id>-<first 8 hex digits of the address>.sqlite``),
        so a redeployed dev-chain registry starts its own index instead of mixing two."""
        if self.database_url:
            return self.database_url
        name = f"index-{chain_id}-{registry.lower().removeprefix('0x')[:8]}.sqlite"
        return f"sqlite:///{(self.home / name).resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> VerifierSettings:
    return VerifierSettings()
