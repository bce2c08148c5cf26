"""The index schema (SQLAlchemy 2) and the engine factory.

The index holds two kinds of rows:

* **events** - every registry log, exactly once (unique on block number and log index), with the
  block hash it came from; ``id`` is the monitor feed's cursor. ``event_links`` ties each event to
  the namespaces it concerns (its own, and any namespace it is confusable with).
* **state** - namespaces, signers, releases, operators, endorsements: a pure function of the
  events, applied in order by :mod:`verifier.index.indexer`, and rebuilt from the events after a reorg.

``blocks`` remembers block hashes the indexer has seen (blocks with events and each checkpoint),
so a reorg can be traced back to the last common block. ``manifests`` holds uploaded manifests,
which are not chain data and survive reorgs. SQLite (WAL) by default; any SQLAlchemy URL works,
PostgreSQL is tested.

**Chain integers.** The contract's times are ``uint64`` and a transaction chooses some of them (an
operator's expiry may be 2^64 - 1), but SQLite's and PostgreSQL's integers are signed 64-bit.
Columns holding such values are :class:`Uint64`: stored shifted by -2^63, which maps 0..2^64-1
onto the whole signed range and keeps the order, so comparisons in SQL still work (raw SQL readers
see the shifted values). Index version 2 introduced this; :func:`_upgrade` shifts an older index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

INDEX_VERSION = 2
"""1: first release; 2: :class:`Uint64` columns."""
_SHIFT = 2**63


class Uint64(TypeDecorator[int]):
    """A ``uint64`` in a signed BIGINT column, order preserved (stored value = value - 2^63)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if not 0 <= value < 2**64:
            raise ValueError(f"{value} is not a uint64")
        return int(value) - _SHIFT

    def process_result_value(self, value: int | None, dialect: Any) -> int | None:
        return None if value is None else int(value) + _SHIFT


class Base(DeclarativeBase):
    pass


class Checkpoint(Base):
    __tablename__ = "checkpoint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    chain_id: Mapped[int] = mapped_column(BigInteger)
    registry_address: Mapped[str] = mapped_column(String(42))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """timestamp of the checkpoint block: the chain time of the index's view (expiry is judged by it)"""
    version: Mapped[int | None] = mapped_column(Integer, nullable=True, default=INDEX_VERSION)
    """the index layout (:data:`INDEX_VERSION`)"""


class Block(Base):
    __tablename__ = "blocks"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(66))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("block_number", "log_index", name="uq_event_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str | None] = mapped_column(String(64), index=True)
    time: Mapped[int | None] = mapped_column(Uint64)
    args: Mapped[str] = mapped_column(Text)  # JSON, bytes as 0x-hex
    alerts: Mapped[str | None] = mapped_column(Text)  # JSON, e.g. {"confusableWith": [...]}
    links: Mapped[list[EventLink]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class SkippedLog(Base):
    """A log of the registry's address the indexer could not decode (data of the wrong shape): kept
    as a record, never applied, and never a reason to stop indexing."""

    __tablename__ = "skipped_logs"
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tx_hash: Mapped[str] = mapped_column(String(66))
    topic: Mapped[str | None] = mapped_column(String(66))
    reason: Mapped[str] = mapped_column(Text)


class EventLink(Base):
    __tablename__ = "event_links"
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    __table_args__ = (Index("ix_event_links_ns", "namespace", "event_id"),)


class NamespaceRow(Base):
    __tablename__ = "namespaces"
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    controller: Mapped[str] = mapped_column(String(42))
    pending_controller: Mapped[str | None] = mapped_column(String(42))
    claimed_block: Mapped[int] = mapped_column(BigInteger)


class SignerRow(Base):
    __tablename__ = "signers"
    namespace_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    did_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), index=True)
    did: Mapped[str] = mapped_column(String(256))
    valid_from: Mapped[int] = mapped_column(Uint64)
    valid_until: Mapped[int] = mapped_column(Uint64, default=0)


class ReleaseRow(Base):
    __tablename__ = "releases"
    id: Mapped[str] = mapped_column(String(66), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    namespace_id: Mapped[str] = mapped_column(String(66))
    weights_digest: Mapped[str] = mapped_column(String(64), index=True)
    manifest_digest: Mapped[str] = mapped_column(String(64), index=True)
    signer_did_hash: Mapped[str] = mapped_column(String(66))
    publisher: Mapped[str] = mapped_column(String(42))
    published_at: Mapped[int] = mapped_column(Uint64)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """position of its ReleasePublished log in the block (publish order within one block; NULL in
    an index written before it was kept)"""
    tx_hash: Mapped[str] = mapped_column(String(66))
    revoked_at: Mapped[int] = mapped_column(Uint64, default=0)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class OperatorRow(Base):
    __tablename__ = "operators"
    scope_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    operator_did_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))  # "" = every version of the model
    operator_did: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[int] = mapped_column(Uint64)
    revoked_at: Mapped[int] = mapped_column(Uint64, default=0)
    origins: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON list of the origins the authorisation is pinned to ([] or NULL: not pinned)"""


class EndorsementRow(Base):
    __tablename__ = "endorsements"
    release_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    endorser: Mapped[str] = mapped_column(String(42), primary_key=True)
    kind_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    data_digest: Mapped[str] = mapped_column(String(66))
    time: Mapped[int] = mapped_column(Uint64)
    revoked_at: Mapped[int] = mapped_column(Uint64, default=0)


class ManifestRow(Base):
    __tablename__ = "manifests"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)


class BehaviourJobRow(Base):
    """A behavioural check asked for, and its result (:mod:`verifier.jobs`): shared by every
    replica, whichever process runs it."""

    __tablename__ = "behaviour_jobs"
    __table_args__ = (
        Index("ix_behaviour_jobs_target", "release", "url", "created"),
        Index("ix_behaviour_jobs_created", "created"),  # global retention (migration 0004)
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    release: Mapped[str] = mapped_column(String(200))
    weights_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created: Mapped[float] = mapped_column(Float)
    finished: Mapped[float | None] = mapped_column(Float, nullable=True)
    check_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    decisive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """done with a match or a mismatch (``check_json``'s status ``pass`` or ``fail``): the newest such
    row of a chatbot and release is never deleted (migration 0004)"""


class JobRow(Base):
    """An endpoint check or a receipt audit run as a job (:class:`verifier.jobs.TaskStore`): its
    input until it finishes, then its result (the verdict or the audit) or the error. ``id`` is
    unguessable (128 random bits): an audit's input and result may be private."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_kind_state", "kind", "state"),
        Index("ix_jobs_created", "created"),
        Index("ix_jobs_kind_client", "kind", "client"),
        Index("ix_jobs_input_key", "input_key"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    created: Mapped[float] = mapped_column(Float)
    started: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished: Mapped[float | None] = mapped_column(Float, nullable=True)
    input_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """who asked (the rate-limit key of :mod:`verifier.limits`): the per-client bound on pending jobs"""
    input_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """an audit's SHA-256 over its input: the same audit asked again is the same job"""


class Counter(Base):
    """A count of changes that are not chain events (migration 0005): ``manifests`` is raised by
    every upload that stores or merges a manifest, so every replica's read cache sees it."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class IndexerLease(Base):
    """Which process may write the index (:mod:`verifier.index.lease`): one row, id 1."""

    __tablename__ = "indexer_lease"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    token: Mapped[int] = mapped_column(BigInteger)
    """the fencing token: raised each time the lease changes hands"""
    expires_at: Mapped[float] = mapped_column(Float)
    """seconds since 1970 by the database's clock (every replica reads the same clock)"""


STATE_TABLES = (NamespaceRow, SignerRow, ReleaseRow, OperatorRow, EndorsementRow)


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """An engine for ``url`` with the index schema migrated to the newest revision
    (:func:`migrate`); SQLite gets WAL, a busy timeout and foreign keys. ``writer``: the
    indexer's own engine, with a small pool of its own, so requests holding every connection of
    theirs never keep the indexer from renewing its lease."""
    if url.startswith("sqlite"):
        # a file database keeps a connection per request thread (40 at most): opening one costs
        # three PRAGMAs, and under load the default pool (5 + 10) closed and reopened them
        in_file = make_url(url).database not in (None, "", ":memory:")
        sizes = (2, 2) if writer else (20, 20)
        pool: dict[str, Any] = {"pool_size": sizes[0], "max_overflow": sizes[1]} if in_file else {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    else:
        try:
            # at most 20 connections per process for requests and 4 for the indexer: replicas x 24
            # (+ workers) must fit max_connections
            size = 2 if writer else 10
            engine = create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size)
        except ModuleNotFoundError as exc:
            from registry.errors import InputError

            raise InputError(
                f"the database URL needs the {exc.name} driver, which is not installed",
                hint="for PostgreSQL: pip install 'modelseal[postgres]'",
            ) from None
    migrate(engine)
    return engine


def ours(name: str | None, type_: str, parent_names: MutableMapping[Any, str | None]) -> bool:
    """Alembic's ``include_name``: the index's own objects, not the task queue's
    (``procrastinate_*`` tables, created by migration 0003 from procrastinate's own schema)."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return not str(table or "").startswith("procrastinate_")


MIGRATION_LOCK = 0x6D6F64656C7365
"""PostgreSQL advisory lock key held (per transaction) while the schema is migrated."""
BASELINE = "0001"
"""The first Alembic revision: the layout of :data:`INDEX_VERSION` 2."""
BASELINE_TABLES = (
    "blocks", "checkpoint", "endorsements", "events", "manifests", "namespaces", "operators", "releases",
    "signers", "skipped_logs", "event_links",
)  # fmt: skip


def migrate(engine: Engine) -> None:
    """Bring the index to the newest Alembic revision (``verifier/index/migrations``), safely when
    many processes start at once: the whole migration is one transaction holding a lock (on
    PostgreSQL a transaction-scoped advisory lock, which also works behind a transaction-mode
    pooler; on SQLite a file lock beside the database), so the first process migrates and the
    others find the schema at head. An index written before migrations were used is first brought
    to the baseline layout and stamped (:func:`_legacy_upgrade`)."""
    from alembic import command

    with _migration_lock(engine) as conn:
        config = _alembic_config(conn)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "checkpoint" in tables:
            _legacy_upgrade(conn)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def _alembic_config(conn: Any) -> Any:
    from pathlib import Path

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    config.attributes["connection"] = conn
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            yield conn
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        with engine.begin() as conn:
            yield conn
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _legacy_upgrade(conn: Connection) -> None:
    """An index written before migrations were used: create the baseline tables it lacks, add the
    nullable columns added before then (the indexer fills them at its next step), and shift the
    uint64 values of an index of version 1 (:func:`_upgrade`)."""
    Base.metadata.create_all(conn, tables=[Base.metadata.tables[t] for t in BASELINE_TABLES])
    wanted = {
        ("checkpoint", "block_time", "BIGINT"),
        ("operators", "origins", "TEXT"),
        ("checkpoint", "version", "INTEGER"),
        ("releases", "log_index", "INTEGER"),
    }
    for table, column, sql_type in sorted(wanted):
        if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
    _upgrade(conn)


UINT64_COLUMNS = (
    ("events", "time"),
    ("signers", "valid_from"),
    ("signers", "valid_until"),
    ("releases", "published_at"),
    ("releases", "revoked_at"),
    ("operators", "expires_at"),
    ("operators", "revoked_at"),
    ("endorsements", "time"),
    ("endorsements", "revoked_at"),
)


def _upgrade(conn: Connection) -> None:
    """Bring an index of an earlier :data:`INDEX_VERSION` up to version 2, in the migration's
    transaction.

    Version 1 stored ``uint64`` values unshifted (those it could store at all), and kept manifest
    uploads unchecked (first writer wins). The version bump is conditional, so an index already
    at version 2 is left alone."""
    if not conn.execute(text("SELECT count(*) FROM checkpoint")).scalar():
        return  # the indexer writes version 2 with the checkpoint
    bumped = conn.execute(
        text("UPDATE checkpoint SET version = :v WHERE id = 1 AND (version IS NULL OR version < :v)"),
        {"v": INDEX_VERSION},
    ).rowcount
    if bumped != 1:
        return
    for table, column in UINT64_COLUMNS:  # -2^63 written so that no literal overflows int64
        conn.execute(text(f"UPDATE {table} SET {column} = {column} + (-9223372036854775807 - 1)"))
    _revet_manifests(conn)


def _revet_manifests(conn: Any) -> None:
    """Keep of each stored manifest only what an upload is accepted with now
    (:func:`verifier.manifests.accept_upload`); drop a manifest that would be refused."""
    from sqlalchemy.orm import Session

    from registry.errors import ModelsealError
    from registry.signing.manifest import Manifest
    from verifier.errors import Problem
    from verifier.manifests import accept_upload

    session = Session(bind=conn)
    for row in session.query(ManifestRow).all():
        try:
            vetted = accept_upload(session, Manifest.from_json(row.document), None).manifest
        except (ModelsealError, Problem):
            session.delete(row)
            continue
        row.document = json.dumps(vetted.document())
    session.flush()
