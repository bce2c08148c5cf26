"""A throwaway PostgreSQL 15 server for tests and benchmarks: ``initdb`` and ``pg_ctl`` in a temp
folder, bound to 127.0.0.1 on a free port, stopped and removed on exit.

Debian's ``postgresql-15`` package (installed by ``make test``) provides the binaries; when run as
root the server runs as the ``postgres`` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.chain.devchain import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yields the server's SQLAlchemy URL without a database name: ``postgresql+psycopg://postgres@127.0.0.1:PORT``."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL 15 is expected at {PG_BIN} (Debian package postgresql-15, installed by `make test`)"
        )
    # not under a private temp folder: initdb runs as `postgres` when we are root
    root = Path(tempfile.mkdtemp(prefix="modelseal-pg-"))
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres", "postgres")

    def run(*args: str) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=root)

    port = free_port()
    data = root / "data"
    run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    run("pg_ctl", "-D", str(data), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-w",
        "-l", str(root / "log"), "start")  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def new_database(server: str) -> str:
    """Create a fresh database on ``server``; its URL."""
    import sqlalchemy

    name = "t" + uuid.uuid4().hex[:12]
    admin = sqlalchemy.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{server}/{name}"
