"""verifier.index.state: the bulk reads and writes of a batch, on SQLite and PostgreSQL.

The indexer writes rows with :func:`insert_rows` (COPY on PostgreSQL, one executemany on SQLite)
and reads and replaces state rows by key lists (arrays on PostgreSQL). These tests hold both
paths to what the ORM reads back: the same rows, uint64 values whole, composite keys matched as
tuples (never column by column).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from verifier.index.schema import EndorsementRow, EventRow, make_engine
from verifier.index.state import ENDORSEMENTS, BatchState, RowWriter, insert_rows

MAX_UINT64 = 2**64 - 1


def endorsement(release: int, endorser: int, kind: int, **extra: Any) -> dict[str, Any]:
    row = {
        "release_id": f"0x{release:064x}",
        "endorser": f"0x{endorser:040x}",
        "kind_hash": f"0x{kind:064x}",
        "kind": f"kind-{kind}",
        "data_digest": "0x" + "ab" * 32,
        "time": 1_700_000_000 + release,
        "revoked_at": 0,
    }
    return {**row, **extra}


def key(row: dict[str, Any]) -> tuple[str, str, str]:
    return row["release_id"], row["endorser"], row["kind_hash"]


def stored(engine: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    with Session(engine) as s:
        rows = s.scalars(select(EndorsementRow)).all()
        return {(r.release_id, r.endorser, r.kind_hash): {c: getattr(r, c) for c in endorsement(0, 0, 0)} for r in rows}


def test_insert_rows_writes_what_the_orm_reads_back(database_url: str) -> None:
    engine = make_engine(database_url)
    rows = [endorsement(i, i % 3, i % 2) for i in range(50)]
    rows[7]["time"] = MAX_UINT64  # the Uint64 shift applied on the way in and out
    rows[8]["revoked_at"] = 2**63
    with engine.begin() as conn:
        insert_rows(conn, ENDORSEMENTS, rows)
    assert stored(engine) == {key(r): r for r in rows}


def test_insert_rows_takes_tuples_in_the_order_of_the_columns(database_url: str) -> None:
    engine = make_engine(database_url)
    columns = ("block_number", "block_hash", "tx_hash", "log_index", "name", "namespace", "time", "args", "alerts")
    rows = [(b, "0x" + "00" * 32, "0x" + "11" * 32, i, "Endorsed", None, MAX_UINT64 - i, "{}", None)
            for b in (5, 6) for i in range(3)]  # fmt: skip
    with engine.begin() as conn:
        insert_rows(conn, EventRow.__table__, rows, columns)  # type: ignore[arg-type]
        insert_rows(conn, EventRow.__table__, [], columns)  # type: ignore[arg-type]  # nothing to write
    with Session(engine) as s:
        got = [(e.block_number, e.log_index, e.time) for e in s.scalars(select(EventRow).order_by(EventRow.id))]
    assert got == [(b, i, MAX_UINT64 - i) for b in (5, 6) for i in range(3)]  # ids in insertion order


def test_composite_keys_are_read_and_replaced_as_tuples(database_url: str) -> None:
    """Keys whose columns each exist in some row, but never together, are absent."""
    engine = make_engine(database_url)
    rows = [endorsement(r, e, k) for r in range(4) for e in range(2) for k in range(2) if (r + e + k) % 2 == 0]
    with engine.begin() as conn:
        insert_rows(conn, ENDORSEMENTS, rows)
    present = {key(r) for r in rows}
    wanted = [endorsement(r, e, k) for r in range(5) for e in range(2) for k in range(2)]
    events = [("EndorsementRevoked", {"releaseId": w["release_id"], "endorser": w["endorser"],
                                      "kindHash": w["kind_hash"]}) for w in wanted]  # fmt: skip

    with Session(engine) as s, s.begin():
        state = BatchState(s)
        state.preload(events, chunk=3)  # several IN lists on SQLite; one array per column on PostgreSQL
        known = state.rows[ENDORSEMENTS]
        assert {k for k, row in known.items() if row is not None} == present
        assert {k for k, row in known.items() if row is None} == {key(w) for w in wanted} - present
        for k in sorted(present)[:5]:  # revoke a few, as the rule does: changed in place, then written
            row = state.get(ENDORSEMENTS, k)
            assert row is not None
            row["revoked_at"] = MAX_UINT64
            state.touch(ENDORSEMENTS, k)
        state.write()

    expected = {key(r): r for r in rows}
    for k in sorted(present)[:5]:
        expected[k] = {**expected[k], "revoked_at": MAX_UINT64}
    assert stored(engine) == expected


def test_a_writer_paused_for_a_read_writes_every_row_once(database_url: str) -> None:
    """The indexer streams a batch's events while it applies them; a rule that reads a row the
    batch did not preload pauses the stream (on PostgreSQL a COPY holds the connection)."""
    engine = make_engine(database_url)
    rows = [endorsement(i, 1, 1) for i in range(30)]
    with engine.begin() as conn, RowWriter(conn, ENDORSEMENTS, list(rows[0])) as writer:
        for i, row in enumerate(rows):
            writer.add(tuple(row.values()))
            if i % 10 == 9:
                writer.pause()
                assert conn.execute(select(EndorsementRow.kind).limit(1)).all() is not None
    assert stored(engine) == {key(r): r for r in rows}


def test_rows_written_through_sqlalchemy_are_converted_once(postgres_server: str) -> None:
    """Where neither COPY nor the SQLite path applies (PostgreSQL outside a COPY), SQLAlchemy's
    insert converts the values (the Uint64 shift) and the writer must not convert them first."""
    from tools.postgres import new_database

    engine = make_engine(new_database(postgres_server))
    rows = [endorsement(i, 2, 2, time=MAX_UINT64 - i) for i in range(5)]
    with engine.begin() as conn:
        writer = RowWriter(conn, ENDORSEMENTS, list(rows[0]))
        writer.copying = False  # as with another driver than psycopg
        writer.extend(tuple(r.values()) for r in rows)
        writer.close()
    assert stored(engine) == {key(r): r for r in rows}
