"""Reading a file a user named, within bounds: the one way modelseal reads documents from disk.

:func:`read_limited` refuses, with the caller's domain error, anything that is not a regular file
(``/dev/zero`` would be read until memory runs out; a FIFO would block for ever), a file larger
than the caller's limit (checked on its size and again while reading, in case it grows), and a
missing or unreadable path, each in one line with a hint. Model weights are not read through it:
hashing streams them (:mod:`registry.hashing.engine`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from registry.errors import InputError, ModelsealError


def read_limited(
    path: str | Path, limit: int, *, what: str = "file", error: type[ModelsealError] = InputError
) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them, or ``error``."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"no such {what}: {path}", hint="check the path") from None
    except IsADirectoryError:
        raise error(f"{path} is a folder, not a {what}", hint="name the file itself") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(
                f"{path} is not a regular file (a device, pipe or folder)", hint=f"save the {what} to a file first"
            )
        if info.st_size > limit:
            raise error(f"{what} {path} is {info.st_size:,} bytes, over the limit of {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{what} {path} is over the limit of {limit:,} bytes")
    return data
