"""The state tables as a pure function of the events: the rules, applied a batch at a time.

Namespaces, signers, releases, operators and endorsements are what the registry's events say, in
order (:func:`apply_event`). The indexer applies one batch of events at a time to a
:class:`BatchState`: the rows the batch reads are loaded together (one ``IN`` list per table on
SQLite, one array per key column on PostgreSQL), changed as plain dicts, and written back together
(:meth:`BatchState.write`): a few statements per batch, not a few per event. A reorg rebuilds the
tables the same way from the events kept.

:class:`RowWriter` (and :func:`insert_rows`) is the one bulk writer of the index: ``COPY`` on
PostgreSQL through psycopg, streamed while the caller goes on working, one ``executemany`` of
plain tuples on SQLite, each column's own type conversion applied (the
:class:`~verifier.index.schema.Uint64` shift); SQLAlchemy's per-row machinery cost more than the
database's own work.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Connection,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from verifier.index.schema import EndorsementRow, NamespaceRow, OperatorRow, ReleaseRow, SignerRow

NAMESPACES: Table = NamespaceRow.__table__  # type: ignore[assignment]
SIGNERS: Table = SignerRow.__table__  # type: ignore[assignment]
RELEASES: Table = ReleaseRow.__table__  # type: ignore[assignment]
OPERATORS: Table = OperatorRow.__table__  # type: ignore[assignment]
ENDORSEMENTS: Table = EndorsementRow.__table__  # type: ignore[assignment]

# the state rows an event reads, by the event arguments that make up their primary key
_READS: dict[str, tuple[tuple[Table, tuple[str, ...]], ...]] = {
    "NamespaceTransferStarted": ((NAMESPACES, ("namespaceId",)),),
    "NamespaceTransferred": ((NAMESPACES, ("namespaceId",)),),
    "SignerRemoved": ((SIGNERS, ("namespaceId", "didHash")),),
    "ReleaseRevoked": ((RELEASES, ("releaseId",)),),
    "OperatorAuthorized": ((OPERATORS, ("scopeId", "operatorDidHash")),),
    "OperatorRevoked": ((OPERATORS, ("scopeId", "operatorDidHash")),),
    "Endorsed": ((ENDORSEMENTS, ("releaseId", "endorser", "kindHash")), (RELEASES, ("releaseId",))),
    "EndorsementRevoked": ((ENDORSEMENTS, ("releaseId", "endorser", "kindHash")), (RELEASES, ("releaseId",))),
}


def _key(values: tuple[Any, ...]) -> Any:
    return values[0] if len(values) == 1 else values


class BatchState:
    """The state rows one batch of events reads and writes, as dicts by table and primary key."""

    def __init__(self, s: Session, *, empty: bool = False) -> None:
        self.s = s
        self.rows: dict[Table, dict[Any, dict[str, Any] | None]] = {}
        """rows known to this batch; ``None``: known to be absent"""
        self.loaded: dict[Table, set[Any]] = {}
        """keys whose row is in the database (to be replaced when written)"""
        self.changed: dict[Table, set[Any]] = {}
        self.empty = empty
        """the tables are known to be empty (a rebuild): nothing is read from them"""
        self.before_read: Callable[[], None] = lambda: None
        """called before a row not preloaded is read (the indexer pauses a COPY it streams)"""

    def preload(self, events: list[tuple[str, dict[str, Any]]], chunk: int = 500) -> None:
        """Read at once every row these events (name, args as stored) will read."""
        wanted: dict[Table, set[Any]] = {}
        for name, args in events:
            for table, fields in _READS.get(name, ()):
                wanted.setdefault(table, set()).add(_key(tuple(args[f] for f in fields)))
        for table, keys in wanted.items():
            known = self.rows.setdefault(table, {})
            todo = sorted(k for k in keys if k not in known)
            if self.empty:
                known.update(dict.fromkeys(todo))
                continue
            pk = list(table.primary_key.columns)
            for part in _chunks(self.s, todo, chunk):
                for row in self.s.execute(select(table).where(_among(self.s, pk, part))).mappings():
                    key = _key(tuple(row[c.name] for c in pk))
                    known[key] = dict(row)
                    self.loaded.setdefault(table, set()).add(key)
            for k in todo:
                known.setdefault(k, None)

    def get(self, table: Table, key: Any) -> dict[str, Any] | None:
        known = self.rows.setdefault(table, {})
        if key not in known:  # not preloaded: read it now
            self.preload_key(table, key)
        return known[key]

    def preload_key(self, table: Table, key: Any) -> None:
        known = self.rows.setdefault(table, {})
        if self.empty:
            known[key] = None
            return
        pk = list(table.primary_key.columns)
        values = key if isinstance(key, tuple) else (key,)
        self.before_read()
        row = self.s.execute(select(table).where(*(c == v for c, v in zip(pk, values, strict=True)))).mappings().first()
        known[key] = dict(row) if row is not None else None
        if row is not None:
            self.loaded.setdefault(table, set()).add(key)

    def put(self, table: Table, key: Any, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, {})[key] = row
        self.changed.setdefault(table, set()).add(key)

    def touch(self, table: Table, key: Any) -> None:
        self.changed.setdefault(table, set()).add(key)

    def write(self) -> None:
        """Write every changed row: rows that were in the database are replaced (deleted, then
        inserted with the rest), in a few statements per table."""
        for table, keys in self.changed.items():
            known = self.rows[table]
            replaced = sorted(k for k in keys if k in self.loaded.get(table, set()))
            pk = list(table.primary_key.columns)
            for part in _chunks(self.s, replaced, 500):
                self.s.execute(delete(table).where(_among(self.s, pk, part)))
            rows = [row for row in (known[k] for k in keys) if row is not None]
            insert_rows(self.s.connection(), table, rows)
            self.loaded.setdefault(table, set()).update(keys)
        self.changed.clear()


def _postgresql(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _chunks(s: Session, keys: list[Any], size: int) -> list[list[Any]]:
    """``keys`` in parts of ``size`` for an ``IN`` list; on PostgreSQL one part (keys go as arrays)."""
    if _postgresql(s):
        return [keys] if keys else []
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _among(s: Session, pk: list[Column[Any]], keys: list[Any]) -> ColumnElement[bool]:
    """``pk IN keys``. On PostgreSQL the keys go as one array per column (``= ANY``, ``unnest``): a
    list of thousands of parameters costs more to send, parse and plan than the lookups."""
    if not _postgresql(s):
        return pk[0].in_(keys) if len(pk) == 1 else tuple_(*pk).in_(keys)
    if len(pk) == 1:
        return pk[0] == any_(bindparam(None, list(keys), type_=ARRAY(pk[0].type)))
    columns = [func.unnest(bindparam(None, [key[i] for key in keys], type_=ARRAY(c.type))) for i, c in enumerate(pk)]
    return tuple_(*pk).in_(select(*columns))


def insert_rows(conn: Connection, table: Table, rows: Sequence[Any], columns: Sequence[str] | None = None) -> None:
    """Insert ``rows`` into ``table`` in ``conn``'s transaction (:class:`RowWriter`). ``rows`` are
    dicts by column name (each with the keys of the first) or, with ``columns``, tuples in that
    order."""
    if not rows:
        return
    if columns is None:
        columns = list(rows[0])
        values = itemgetter(*columns)
        rows = [(values(row),) for row in rows] if len(columns) == 1 else [values(row) for row in rows]
    with RowWriter(conn, table, columns) as writer:
        writer.extend(rows)


class RowWriter:
    """Rows for one table, written in ``conn``'s transaction as they come: ``COPY ... FROM STDIN``
    on PostgreSQL through psycopg (the server inserts while the caller goes on working), one
    ``executemany`` of plain tuples at :meth:`close` on SQLite, SQLAlchemy's bulk insert
    elsewhere. Each column's type converts its values as SQLAlchemy would (the Uint64 shift).

    The connection runs nothing else while a COPY is open: :meth:`pause` ends it (the rows so far
    are written), and the next row starts another."""

    def __init__(self, conn: Connection, table: Table, columns: Sequence[str]) -> None:
        self.conn, self.table, self.columns = conn, table, tuple(columns)
        dialect = conn.dialect
        self.copying = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self.convert = [
            (i, p) for i, p in enumerate(table.c[c].type.bind_processor(dialect) for c in columns) if p is not None
        ]  # the Uint64 columns
        self.rows: list[tuple[Any, ...]] = []
        self._copy: Any = None
        self._stack = ExitStack()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.close()
        else:  # an open COPY fails with the error
            self._stack.__exit__(kind, value, traceback)
            self._copy = None

    def add(self, row: tuple[Any, ...]) -> None:
        if not self.copying:
            self.rows.append(row)
            return
        if self._copy is None:
            quote = self.conn.dialect.identifier_preparer.quote
            sql = f"COPY {quote(self.table.name)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
            driver: Any = self.conn.connection.driver_connection  # psycopg's, in this transaction
            cursor = self._stack.enter_context(driver.cursor())
            self._copy = self._stack.enter_context(cursor.copy(sql))
        self._copy.write_row(self._converted([row])[0] if self.convert else row)

    def extend(self, rows: Iterable[tuple[Any, ...]]) -> None:
        if not self.copying:
            self.rows.extend(rows)
            return
        for row in rows:
            self.add(row)

    def _converted(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not self.convert:
            return rows
        as_lists = [list(row) for row in rows]
        for values in as_lists:
            for i, processor in self.convert:
                values[i] = processor(values[i])
        return [tuple(values) for values in as_lists]

    def pause(self) -> None:
        """End an open COPY, so the connection can run a statement."""
        self._stack.close()
        self._copy = None

    def close(self) -> None:
        self.pause()
        rows, self.rows = self.rows, []
        if not rows:
            return
        dialect = self.conn.dialect
        if dialect.name != "sqlite":  # SQLAlchemy converts the values itself
            self.conn.execute(insert(self.table), [dict(zip(self.columns, row, strict=True)) for row in rows])
            return
        rows = self._converted(rows)
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in self.columns)
        marks = ", ".join("?" * len(self.columns))
        self.conn.exec_driver_sql(f"INSERT INTO {quote(self.table.name)} ({names}) VALUES ({marks})", rows)


def apply_event(state: BatchState, row: Any, a: dict[str, Any]) -> None:
    """Apply one event (``row``: its name, block, log index and transaction, and the namespace it
    concerns, which this may set; ``a``: its args as stored, bytes in 0x-hex) to the state."""
    name = row.name
    key: Any
    e: dict[str, Any] | None
    if name == "NamespaceClaimed":
        state.put(
            NAMESPACES,
            a["namespaceId"],
            {"id": a["namespaceId"], "name": a["namespace"], "controller": a["controller"],
             "pending_controller": None, "claimed_block": row.block_number},
        )  # fmt: skip
    elif name == "NamespaceTransferStarted":
        ns = state.get(NAMESPACES, a["namespaceId"])
        if ns is not None:
            pending = a["pendingController"]
            ns["pending_controller"] = None if int(pending, 16) == 0 else pending
            state.touch(NAMESPACES, a["namespaceId"])
    elif name == "NamespaceTransferred":
        ns = state.get(NAMESPACES, a["namespaceId"])
        if ns is not None:
            ns["controller"], ns["pending_controller"] = a["newController"], None
            state.touch(NAMESPACES, a["namespaceId"])
    elif name == "SignerAdded":
        state.put(
            SIGNERS,
            (a["namespaceId"], a["didHash"]),
            {"namespace_id": a["namespaceId"], "did_hash": a["didHash"], "namespace": a["namespace"], "did": a["did"],
             "valid_from": int(a["validFrom"]), "valid_until": 0},
        )  # fmt: skip
    elif name == "SignerRemoved":
        key = (a["namespaceId"], a["didHash"])
        signer = state.get(SIGNERS, key)
        if signer is not None:
            signer["valid_until"] = int(a["validUntil"])
            state.touch(SIGNERS, key)
    elif name == "ReleasePublished":
        state.put(
            RELEASES,
            a["releaseId"],
            {"id": a["releaseId"], "namespace": a["namespace"], "model": a["model"], "version": a["version"],
             "namespace_id": a["namespaceId"], "weights_digest": _plain(a["weightsDigest"]),
             "manifest_digest": _plain(a["manifestDigest"]), "signer_did_hash": a["signerDidHash"],
             "publisher": a["publisher"], "published_at": int(a["publishedAt"]), "block_number": row.block_number,
             "log_index": row.log_index, "tx_hash": row.tx_hash, "revoked_at": 0, "revoke_reason": None},
        )  # fmt: skip
    elif name == "ReleaseRevoked":
        rel = state.get(RELEASES, a["releaseId"])
        if rel is not None:
            rel["revoked_at"], rel["revoke_reason"] = int(a["revokedAt"]), a["reason"]
            state.touch(RELEASES, a["releaseId"])
            row.namespace = rel["namespace"]
    elif name == "OperatorAuthorized":
        key = (a["scopeId"], a["operatorDidHash"])
        op = state.get(OPERATORS, key) or {"scope_id": a["scopeId"], "operator_did_hash": a["operatorDidHash"]}
        op.update(
            namespace=a["namespace"], model=a["model"], version=a["version"], operator_did=a["operatorDid"],
            expires_at=int(a["expiresAt"]), revoked_at=0, origins=json.dumps([str(o) for o in a.get("origins") or ()]),
        )  # fmt: skip
        state.put(OPERATORS, key, op)
    elif name == "OperatorRevoked":
        key = (a["scopeId"], a["operatorDidHash"])
        revoked = state.get(OPERATORS, key)
        if revoked is not None:
            revoked["revoked_at"] = int(a["revokedAt"])
            state.touch(OPERATORS, key)
    elif name == "Endorsed":
        key = (a["releaseId"], a["endorser"], a["kindHash"])
        endorsement = state.get(ENDORSEMENTS, key) or {
            "release_id": a["releaseId"], "endorser": a["endorser"], "kind_hash": a["kindHash"]
        }  # fmt: skip
        endorsement.update(kind=a["kind"], data_digest=a["dataDigest"], time=int(a["time"]), revoked_at=0)
        state.put(ENDORSEMENTS, key, endorsement)
        rel = state.get(RELEASES, a["releaseId"])
        if rel is not None:
            row.namespace = rel["namespace"]
    elif name == "EndorsementRevoked":
        key = (a["releaseId"], a["endorser"], a["kindHash"])
        e = state.get(ENDORSEMENTS, key)
        if e is not None:
            e["revoked_at"] = int(a["revokedAt"])
            state.touch(ENDORSEMENTS, key)
        rel = state.get(RELEASES, a["releaseId"])
        if rel is not None:
            row.namespace = rel["namespace"]


def _plain(value: Any) -> str:
    return str(value).removeprefix("0x")
