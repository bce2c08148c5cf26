"""The hash cache: BLAKE3 digests of files already read, so an unchanged file is not read again.

This module owns when a recorded digest may stand in for reading a file, and the SQLite file that
holds them (``<data folder>/hash-cache.sqlite``). It never hashes (:mod:`registry.hashing.model` does)
and it is never part of any format: deleting the file only makes the next hash slower.

A file's **key** is ``(absolute path, size, mtime_ns, ctime_ns, inode, device)`` as ``stat``
reports it. A recorded digest is used only when every part of the key is unchanged:

* any write, truncation, ``chmod``, rename onto the path or ``touch`` changes ``ctime``, and
  ``ctime`` cannot be set back by a program (``os.utime`` restores ``mtime`` but moves ``ctime``);
  a file replaced by another one changes inode (and usually device);
* timestamps are coarse (kernel ticks, or seconds on some file systems), so a file changed within
  the same tick as the one we read could keep its key. A digest is therefore **recorded only if
  the file's ctime is at least** :data:`RACY_WINDOW_NS` **older than the moment the model was
  listed**; a file changed more recently is simply read again next time (git's "racily clean"
  rule, made strict).

Not covered, by design of timestamps: a program writing through a shared memory map can change
bytes before the kernel updates the timestamps; clock steps backwards; network file systems
whose server clock is far from ours. ``modelseal hash --no-cache`` reads every byte, and
``modelseal verify-manifest`` never uses this cache. ``docs/hashing.md`` says the same for users.

Two processes may use the cache at once: SQLite in WAL mode, writes in one short transaction.
Any SQLite problem (locked, unreadable, not a database) makes the cache answer "unknown" and keeps
a one-line :attr:`HashCache.problem`; hashing then simply reads the bytes.
"""

from __future__ import annotations

import os
import struct
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: `modelseal hash` loads this
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Mapping
    from pathlib import Path

CACHE_FILE = "hash-cache.sqlite"
RACY_WINDOW_NS = 2_000_000_000
"""A file whose ctime is less than this before the listing is not recorded (2 s)."""

_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE files (
    path BLOB PRIMARY KEY,      -- absolute path, os.fsencode
    key BLOB NOT NULL,          -- file_key(): size, mtime_ns, ctime_ns, inode, device, packed
    blake3 BLOB NOT NULL,
    recorded_ns INTEGER NOT NULL
) WITHOUT ROWID
"""
_LOCK_RETRIES = 6  # a "database is locked" answered at once is retried after 20, 40 ... 640 ms
_OLD_VERSIONS = (1,)  # schemas this code replaces (a cache is only a cache: the rows are dropped)
_KEY = struct.Struct("<qqqQQ")


def file_key(st: os.stat_result) -> bytes:
    """``(size, mtime_ns, ctime_ns, inode, device)`` packed: with the path, what must not change.

    One bytes value, so that checking thousands of files is one comparison each."""
    return _KEY.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def default_home() -> str:
    """The data folder, as :class:`registry.settings.Settings` reads it (``MODELSEAL_HOME``).

    Read here directly so ``modelseal hash`` does not pay for importing pydantic-settings;
    ``tests/test_hashcache.py`` checks both agree.
    """
    return os.environ.get("MODELSEAL_HOME") or ".modelseal"


class Lookup:
    """What the cache knows about one model: digests it vouches for, and rows now stale."""

    __slots__ = ("hits", "root", "stale")

    def __init__(self, root: str) -> None:
        self.root = root
        self.hits: dict[str, bytes] = {}
        self.stale: list[bytes] = []


class HashCache:
    """Digests of files keyed by their ``stat``; see the module docstring for when one is used."""

    def __init__(self, path: str | os.PathLike[str], *, racy_window_ns: int = RACY_WINDOW_NS) -> None:
        self.file = os.fspath(path)
        self.racy_window_ns = racy_window_ns
        self.problem: str | None = None

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.file)

    @classmethod
    def in_home(cls, home: str | os.PathLike[str] | None = None) -> HashCache:
        """The cache in the data folder (``MODELSEAL_HOME``, default ``./.modelseal``)."""
        return cls(os.path.join(home if home is not None else default_home(), CACHE_FILE))

    # --- SQLite --------------------------------------------------------------------------

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        import sqlite3

        if not create and not os.path.exists(self.file):
            return None
        if create:
            os.makedirs(os.path.dirname(self.file) or ".", exist_ok=True)
        for attempt in range(_LOCK_RETRIES):
            try:
                return self._open(create=create)
            except sqlite3.OperationalError as exc:
                # SQLite answers "locked" at once, without waiting for the busy timeout, when
                # waiting could deadlock (processes switching an older cache to WAL together).
                if "locked" not in str(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                time.sleep(0.02 * 2**attempt)
        return None  # not reached

    def _open(self, *, create: bool) -> sqlite3.Connection | None:
        import sqlite3

        db = sqlite3.connect(self.file, timeout=5.0, isolation_level=None)
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version in _OLD_VERSIONS and not create:
                db.close()
                return None  # written by an older modelseal: as good as empty until the next write
            if version == 0 or version in _OLD_VERSIONS:
                self._create_schema(db)
                # A connection keeps the schema it first read: another process may have replaced
                # it meanwhile, so statements are prepared on a fresh connection.
                db.close()
                db = sqlite3.connect(self.file, timeout=5.0, isolation_level=None)
                version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"hash cache schema {version} is not {_SCHEMA_VERSION}")
            db.execute("PRAGMA synchronous=NORMAL")  # losing the last commit only costs a re-read
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _create_schema(db: sqlite3.Connection) -> None:
        """Create (or replace an older) schema, unless another process has just done so."""
        import sqlite3

        if db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise sqlite3.OperationalError("cannot switch the cache to WAL mode")
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS files")
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _failed(self, exc: Exception) -> None:
        self.problem = f"hash cache {self.file} not used ({exc}); delete the file if this persists"

    # --- use -----------------------------------------------------------------------------

    def lookup(self, root: str, stats: Mapping[str, os.stat_result]) -> Lookup:
        """Digests recorded for the files in ``stats`` (absolute path -> current ``stat``) whose
        key is unchanged. ``root`` is the model's absolute path (a folder or a single file); rows
        under it for files no longer listed are returned as ``stale`` for :meth:`record`."""
        import sqlite3

        found = Lookup(root)
        try:
            db = self._connect(create=False)
            if db is None:
                return found
            try:
                query = "SELECT path, key, blake3 FROM files WHERE "
                exact = os.fsencode(root)
                under = exact if exact.endswith(b"/") else exact + b"/"
                rows = db.execute(query + "path = ?", (exact,)).fetchall()
                rows += db.execute(query + "path >= ? AND path < ?", (under, under[:-1] + b"0")).fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:
            self._failed(exc)
            return found
        encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()  # os.fsdecode, inlined
        pack, get, hits, stale = _KEY.pack, stats.get, found.hits, found.stale
        for raw, key, digest in rows:  # thousands of rows: kept to one comparison each
            path = raw.decode(encoding, errors)
            st = get(path)
            if st is None:
                stale.append(raw)
                continue
            try:
                current = pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
            except struct.error:  # a timestamp outside 1677-2262: never recorded, so never a hit
                continue
            if key == current and len(digest) == 32:
                hits[path] = digest
        return found

    def record(self, lookup: Lookup, hashed: Iterable[tuple[str, os.stat_result, bytes]], *, started_ns: int) -> int:
        """Record digests just computed, each with the ``stat`` taken when the model was listed
        (at ``started_ns``), and forget ``lookup.stale``. Returns how many were recorded.

        A file whose ctime is within :attr:`racy_window_ns` of ``started_ns`` (or later) is not
        recorded: a change in the same timestamp tick could not be told apart.
        """
        import sqlite3

        limit = started_ns - self.racy_window_ns
        now = time.time_ns()
        rows = []
        for path, st, digest in hashed:
            if st.st_ctime_ns < limit:
                try:
                    rows.append((os.fsencode(path), file_key(st), digest, now))
                except struct.error:  # a timestamp outside 1677-2262 does not fit the key: read it each time
                    continue
        if not rows and not lookup.stale:
            return 0
        try:
            db = self._connect(create=True)
            assert db is not None
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in lookup.stale])
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return 0
        return len(rows)
