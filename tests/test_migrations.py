"""The index schema is migrated by Alembic (verifier/index/migrations), on SQLite and on a real
PostgreSQL 15: the revisions build exactly what the models describe, an index from before
migrations is adopted, and many processes starting together on a fresh database never race."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from verifier.index.schema import BASELINE_TABLES, Base, make_engine, ours

ROOT = Path(__file__).resolve().parent.parent


def _head() -> str:
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory(str(ROOT / "verifier" / "index" / "migrations")).get_current_head())


def test_the_migrations_build_what_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), Base.metadata)
        assert diff == [], diff  # a model changed without a revision (or the other way round)
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
        lease = conn.execute(text("SELECT id, holder, token FROM indexer_lease")).all()
        if engine.dialect.name == "postgresql":  # the task queue's tables live beside the index
            assert conn.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 0
    assert [tuple(r) for r in lease] == [(1, None, 0)]


def test_an_index_from_before_migrations_is_adopted_and_upgraded(database_url: str) -> None:
    old = create_engine(database_url)
    Base.metadata.create_all(old, tables=[Base.metadata.tables[t] for t in BASELINE_TABLES])
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO checkpoint (id, chain_id, registry_address, block_number, block_hash, version) "
                "VALUES (1, 31337, '0x0', 5, '0xab', 2)"
            )
        )
    old.dispose()
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"alembic_version", "indexer_lease"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT block_number FROM checkpoint")).scalar() == 5  # data kept
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()


def test_ten_processes_starting_together_on_a_fresh_database_never_race(database_url: str) -> None:
    """Ten separate processes open the same fresh database at once: each must succeed, and the
    schema must be migrated exactly once (one lease row, one version row)."""
    script = (
        "import sys; from verifier.index.schema import make_engine; make_engine(sys.argv[1]).dispose(); print('ok')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(10)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0 and out.strip() == "ok", err[-2000:]
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM indexer_lease")).scalar() == 1
