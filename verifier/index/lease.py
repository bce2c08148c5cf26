"""One writer at a time: the indexer lease, held through the database every replica shares.

Any number of verifier replicas may serve one index database; exactly one of them indexes at a
time. The ``indexer_lease`` row (migration 0002) says which process holds the right to write,
until when, and with which **fencing token**:

* :meth:`Lease.acquire` takes the lease when it is free or expired, or renews it for its holder
  (one conditional ``UPDATE``). Each time the lease changes hands the token goes up by one.
* :meth:`Lease.fence` runs inside every write transaction of the indexer, before anything is
  written: a conditional ``UPDATE`` that renews the lease only if this process still holds it
  with the same token and it has not expired. It locks the lease row until the transaction ends
  (PostgreSQL's row lock, SQLite's write lock), so no other process can take the lease while the
  batch is being written, and a process that lost the lease (paused, partitioned, killed and
  restarted with a stale view) cannot write at all: its transaction is rolled back.

Times are the **database's clock** (``clock_timestamp()`` on PostgreSQL, ``julianday('now')`` on
SQLite), never a replica's, so replicas whose clocks disagree still agree on expiry. On
PostgreSQL a contender waits at most a second for the lease row (``lock_timeout``), and a writer
that stops in the middle of its transaction (paused, cut off) has its session ended by the server
after a minute, or three leases if longer (``idle_in_transaction_session_timeout``), which frees
the row; until then the index waits, and health says how far behind it is. PostgreSQL
advisory locks alone would not do: behind a transaction-mode pooler a session lock is not tied
to one process, and a lock gives no token to fence a paused writer with.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from registry.errors import ModelsealError

log = logging.getLogger("modelseal.indexer")

DEFAULT_TTL = 10.0
"""Seconds a lease lasts without renewal: how long the index may stand still after its writer dies."""


class LeaseLost(ModelsealError):
    """This process no longer holds the indexer lease: whatever it was writing was rolled back."""


def _now_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "extract(epoch from clock_timestamp())"
    return "((julianday('now') - 2440587.5) * 86400.0)"


def holder_name() -> str:
    """This process, readably and uniquely: host, pid and a random suffix."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, engine: Engine, holder: str | None = None, ttl: float = DEFAULT_TTL) -> None:
        if ttl <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        self.engine = engine
        self.holder = holder or holder_name()
        self.ttl = float(ttl)
        self.token: int | None = None
        """the fencing token while this process holds the lease, else None"""
        now = _now_sql(engine.dialect.name)
        self._postgres = engine.dialect.name == "postgresql"
        self._acquire = text(
            f"UPDATE indexer_lease SET "
            f"token = CASE WHEN holder = :me AND expires_at > {now} THEN token ELSE token + 1 END, "
            f"holder = :me, expires_at = {now} + :ttl "
            f"WHERE id = 1 AND (holder = :me OR holder IS NULL OR expires_at <= {now}) RETURNING token"
        )
        self._fence = text(
            f"UPDATE indexer_lease SET expires_at = {now} + :ttl "
            f"WHERE id = 1 AND holder = :me AND token = :token AND expires_at > {now}"
        )
        self._release = text("UPDATE indexer_lease SET expires_at = 0 WHERE id = 1 AND holder = :me AND token = :token")

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it. A new token means the
        lease changed hands (the caller must then forget whatever it cached about the index)."""
        try:
            with self.engine.begin() as conn:
                if self._postgres:  # a holder paused inside its write must not keep us waiting on the row
                    conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                token = conn.execute(self._acquire, {"me": self.holder, "ttl": self.ttl}).scalar()
        except OperationalError as exc:
            if "lock timeout" not in str(exc).lower() and "lock_timeout" not in str(exc).lower():
                raise
            token = None  # the holder is writing (or stuck writing): not ours this time
        if token is None:
            if self.token is not None:
                log.warning("indexer lease lost (token %s): another replica indexes now", self.token)
            self.token = None
            return False
        if token != self.token:
            log.info("indexer lease taken with token %s by %s", token, self.holder)
        self.token = int(token)
        return True

    def fence(self, conn: Connection) -> None:
        """Inside a write transaction: prove this process still holds the lease (and renew it),
        or raise :class:`LeaseLost` so the transaction is rolled back."""
        if self.token is None:
            raise LeaseLost("this process does not hold the indexer lease")
        if self._postgres:  # a writer paused mid-batch loses its session, and so the row lock, in time
            idle = max(60, int(3 * self.ttl))  # longer than any pause between a batch's statements
            conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{idle}s'"))
        changed = conn.execute(self._fence, {"me": self.holder, "token": self.token, "ttl": self.ttl}).rowcount
        if changed != 1:
            lost, self.token = self.token, None
            raise LeaseLost(f"the indexer lease (token {lost}) expired or was taken over; this batch was not written")

    def release(self) -> None:
        """Give the lease up now (a clean stop), so another replica takes over at once."""
        if self.token is None:
            return
        with self.engine.begin() as conn:
            conn.execute(self._release, {"me": self.holder, "token": self.token})
        self.token = None

    @property
    def held(self) -> bool:
        return self.token is not None
