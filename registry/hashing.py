"""BLAKE3 digests of files and of model folders.

This module owns the bytes-to-digest step of modelseal and nothing else: it reads files, it never
signs, never talks to a chain and never prints (progress is reported through a callback).

* :func:`hash_file` - plain ``blake3(file bytes)``, the value ``b3sum`` prints.
* :func:`hash_model` - a model is a file or a folder. A folder is listed (sorted POSIX relative
  paths, NFC names, no symlinks unless asked, ignore rules applied) and its **weights digest** is
  the BLAKE3 of the RFC 8785 (JCS) bytes of ``[{"path", "size", "blake3"}, ...]``. A single file's
  weights digest is its plain BLAKE3. :func:`scan_model` + :func:`hash_scan` are the same in two
  steps, for a caller that wants the byte total first (a progress bar) without listing twice.
* :func:`weights_digest` - recompute the weights digest from a file list (used when parsing a
  manifest, so a document whose list and digest disagree is refused).

How the bytes are read (every byte once, memory bounded):

* files of 8 MiB and more: ``mmap`` in 256 MiB windows, BLAKE3 on all cores (rayon), so a
  1 GiB shard never occupies more than one window of address space;
* smaller files: ``read`` into one reusable 1 MiB buffer, single-threaded BLAKE3. Many of them
  are split by size between worker processes (``os.fork``, one per core) when the process has a
  single thread; otherwise, or for a few files, they are hashed in this process. CPython threads
  are not used for this: measured here, they are slower than one thread because every ``open``,
  ``read`` and hash call hands the GIL over.

A :class:`registry.hashcache.HashCache` passed as ``cache`` lets unchanged files skip the read
(``docs/hashing.md`` says exactly when a recorded digest is trusted). The exact format is in
``docs/formats.md``.
"""

from __future__ import annotations

import errno
import fnmatch
import mmap
import os
import re
import signal
import struct
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import blake3

from registry.errors import (
    AbsolutePath,
    InputError,
    NonNFCName,
    PathRefused,
    SymlinkRefused,
    UnsafePath,
)

if TYPE_CHECKING:
    from registry.hashcache import HashCache

ALGORITHM = "blake3"
DIGEST_SIZE = 32
DEFAULT_IGNORE: tuple[str, ...] = (".git/",)
"""Ignore rules applied unless the caller gives its own. They are recorded in the manifest."""

PROGRESS_THRESHOLD = 256 * 1024 * 1024
"""Callers show a progress bar when a model holds more bytes than this."""

_WINDOW = 256 * 1024 * 1024  # bytes of a big file mapped (and handed to BLAKE3) at a time
_SMALL_FILE = 8 * 1024 * 1024  # files below this are read, not mapped, and may go to a worker
_BUFFER = 1024 * 1024  # read buffer for small files, one per process
_POOL_MIN_FILES = 256  # fork workers only when there is enough work to pay for them ...
_POOL_MIN_BYTES = 32 * 1024 * 1024  # ... in files or in bytes
_MAX_JSON_INT = 2**53 - 1  # JCS writes numbers as IEEE doubles: larger sizes need rfc8785's error
_RECORD = struct.Struct("<qi32s")  # a worker's answer per file: bytes hashed, errno, digest

ProgressFn = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Digest:
    """A 32-byte BLAKE3 digest. ``str()`` and ``.hex`` give lowercase hex, as in JSON."""

    value: bytes
    algorithm: str = ALGORITHM

    def __post_init__(self) -> None:
        if self.algorithm != ALGORITHM:
            raise InputError(f"unsupported digest algorithm {self.algorithm!r}")
        if len(self.value) != DIGEST_SIZE:
            raise InputError(f"a {self.algorithm} digest has {DIGEST_SIZE} bytes, got {len(self.value)}")

    @property
    def hex(self) -> str:
        return self.value.hex()

    @classmethod
    def from_hex(cls, text: str) -> Digest:
        """Parse 64 lowercase hex characters (an optional ``0x`` prefix is accepted)."""
        raw = text[2:] if text.startswith("0x") else text
        if len(raw) != 2 * DIGEST_SIZE or raw != raw.lower():
            raise InputError(
                f"not a digest: {text!r}",
                hint="a digest is 64 lowercase hex characters",
            )
        try:
            return cls(bytes.fromhex(raw))
        except ValueError:
            raise InputError(f"not a digest: {text!r}", hint="a digest is 64 lowercase hex characters") from None

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls(blake3.blake3(data).digest())

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a model: its POSIX path relative to the model root, size and digest."""

    path: str
    size: int
    digest: Digest

    def as_json(self) -> dict[str, str | int]:
        return {"path": self.path, "size": self.size, "blake3": self.digest.hex}


@dataclass(frozen=True, slots=True)
class ModelDigest:
    """The result of hashing a model: its kind, file list, weights digest and ignore rules."""

    kind: Literal["file", "folder"]
    files: tuple[FileEntry, ...]
    weights: Digest
    ignore: tuple[str, ...] = field(default=DEFAULT_IGNORE)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


class ScannedFile(NamedTuple):
    """A file found by :func:`scan_model`: recorded path, absolute path, and its ``stat`` then."""

    rel: str
    path: str
    stat: os.stat_result


@dataclass(frozen=True, slots=True)
class ModelScan:
    """A listed model, not yet hashed: what :func:`hash_scan` will read.

    ``scanned_ns`` is the wall-clock time taken just before the first ``stat``; the hash cache
    uses it to refuse recording files changed too recently to be told apart by their timestamps.
    """

    kind: Literal["file", "folder"]
    root: str
    files: tuple[ScannedFile, ...]
    ignore: tuple[str, ...]
    scanned_ns: int

    @property
    def total_bytes(self) -> int:
        return sum(f.stat.st_size for f in self.files)


# --- paths ---------------------------------------------------------------------------------


def check_relative_path(path: str) -> str:
    """Refuse a recorded path that could escape the model or be read two ways.

    Returns the path unchanged when it is a clean POSIX relative path in NFC.
    """
    if not path:
        raise UnsafePath("empty file path in a model")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":") or path.startswith("\\"):
        raise AbsolutePath(f"absolute path refused: {path!r}")
    if "\\" in path:
        raise UnsafePath(f"backslash in a file path refused: {path!r}", hint="paths use '/' as separator")
    parts = path.split("/")
    if any(p in ("..", ".", "") for p in parts):
        raise UnsafePath(f"path with '..', '.' or an empty part refused: {path!r}")
    if "\x00" in path:
        raise UnsafePath(f"NUL byte in a file path refused: {path!r}")
    if not unicodedata.is_normalized("NFC", path):
        raise NonNFCName(f"file name not in Unicode NFC form refused: {path!r}")
    return path


def _check_listed(rel: str, name: str) -> None:
    """:func:`check_relative_path` for ``rel`` = an already checked prefix + a listed ``name``.

    A name from a directory listing is never empty, ``.``, ``..``, nor contains ``/`` or NUL, and
    an ASCII name is NFC: such a name needs the full check only if it holds ``\\`` or ``:``.
    """
    if not name.isascii() or "\\" in name or ":" in name:
        check_relative_path(rel)


def _matcher(patterns: Sequence[str]) -> Callable[[str], re.Match[str] | None] | None:
    """One compiled ``fnmatchcase`` test for any of ``patterns`` (``None`` when there are none)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


class _Rules:
    """Gitignore-like subset: ``name/`` matches a folder of that name at any depth, any other rule
    is an ``fnmatch`` pattern (case-sensitive) tested against the whole relative path and against
    the base name. Compiled once per listing."""

    def __init__(self, rules: Sequence[str]) -> None:
        self.folder = _matcher([r[:-1] for r in rules if r.endswith("/")])
        self.glob = _matcher([r for r in rules if not r.endswith("/")])

    def ignored(self, rel: str, name: str, is_dir: bool) -> bool:
        if is_dir and self.folder is not None and self.folder(name):
            return True
        return self.glob is not None and (self.glob(rel) is not None or self.glob(name) is not None)


def _walk(root: str, ignore: Sequence[str], follow_symlinks: bool) -> list[ScannedFile]:
    """Every file under ``root`` (paths joined to ``root`` as given), sorted by recorded path."""
    out: list[ScannedFile] = []
    rules = _Rules(ignore)
    glob = rules.glob

    def walk(folder: str, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list {folder}: {exc.strerror}") from exc
        for entry in entries:
            name = entry.name
            rel = prefix + name
            if entry.is_file(follow_symlinks=False):  # the common case: a plain file
                if glob is not None and (glob(rel) is not None or glob(name) is not None):
                    continue
                _check_listed(rel, name)
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    raise _read_error(entry.path, exc) from None
                out.append(ScannedFile(rel, entry.path, st))
                continue
            if entry.is_symlink():
                if rules.ignored(rel, name, entry.is_dir(follow_symlinks=True)):
                    continue
                if not follow_symlinks:
                    raise SymlinkRefused(f"symbolic link refused: {rel} -> {os.readlink(entry.path)}")
                target = Path(entry.path).resolve()
                if target.is_dir():
                    raise SymlinkRefused(
                        f"symbolic link to a folder refused: {rel}",
                        hint="only links to files can be followed; copy the folder in instead",
                    )
                if not target.is_file():
                    raise SymlinkRefused(f"dangling or special symbolic link refused: {rel}")
            is_dir = entry.is_dir(follow_symlinks=False)
            if rules.ignored(rel, name, is_dir):
                continue
            _check_listed(rel, name)
            if is_dir:
                walk(entry.path, rel + "/")
            elif entry.is_file(follow_symlinks=True):
                try:
                    st = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    raise _read_error(entry.path, exc) from None
                out.append(ScannedFile(rel, entry.path, st))
            else:
                raise PathRefused(
                    f"not a regular file: {rel}", hint="sockets, fifos and devices cannot be part of a model"
                )

    walk(root, "")
    out.sort(key=lambda f: f.rel)
    return out


def list_files(
    root: Path, *, ignore: Sequence[str] = DEFAULT_IGNORE, follow_symlinks: bool = False
) -> list[tuple[str, Path]]:
    """The files of a model folder as sorted ``(relative posix path, absolute path)`` pairs."""
    return [(f.rel, Path(f.path)) for f in _walk(os.fspath(root), ignore, follow_symlinks)]


def scan_model(path: Path, *, ignore: Sequence[str] = DEFAULT_IGNORE, follow_symlinks: bool = False) -> ModelScan:
    """List a model file or folder (names checked, ignore rules applied) and ``stat`` its files."""
    path = Path(path)
    started = time.time_ns()
    if path.is_symlink() and not follow_symlinks:
        raise SymlinkRefused(f"symbolic link refused: {path} -> {os.readlink(path)}")
    if not path.exists():
        raise InputError(f"no such file or folder: {path}", hint="give the path of a model file or folder")
    root = os.path.abspath(path)
    if path.is_file():
        name = path.name
        if not unicodedata.is_normalized("NFC", name):
            raise NonNFCName(f"file name not in Unicode NFC form refused: {name!r}")
        try:
            st = os.stat(root)
        except OSError as exc:
            raise _read_error(root, exc) from None
        return ModelScan("file", root, (ScannedFile(name, root, st),), tuple(ignore), started)
    if not path.is_dir():
        raise PathRefused(f"not a regular file or folder: {path}")
    files = _walk(root, ignore, follow_symlinks)
    if not files:
        raise InputError(f"no files to hash in {path}", hint="check the folder and the --ignore rules")
    return ModelScan("folder", root, tuple(files), tuple(ignore), started)


# --- reading and hashing -------------------------------------------------------------------


def _read_error(path: str | Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"no such file: {path}")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"is a folder, not a file: {path}")
    if isinstance(exc, PermissionError):
        return InputError(f"permission denied: {path}")
    return InputError(f"cannot read {path}: {exc.strerror or exc}")


def _hash_fd(fd: int, size: int, buf: bytearray, on_progress: ProgressFn | None) -> tuple[int, bytes]:
    """BLAKE3 of an open file and the number of bytes it held: mapped when big, read when small."""
    if size >= _SMALL_FILE:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        for start in range(0, size, _WINDOW):
            length = min(_WINDOW, size - start)
            with mmap.mmap(fd, length, offset=start, access=mmap.ACCESS_READ) as window:
                hasher.update(window)
            if on_progress is not None:
                on_progress(length)
        return size, hasher.digest()
    hasher = blake3.blake3()
    view = memoryview(buf)
    total = 0
    while n := os.readv(fd, [buf]):  # until end of file, whatever the size said
        hasher.update(view[:n])
        total += n
    if on_progress is not None:
        on_progress(total)
    return total, hasher.digest()


def _hash_path_raw(path: str, buf: bytearray, on_progress: ProgressFn | None) -> tuple[int, bytes]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return _hash_fd(fd, os.fstat(fd).st_size, buf, on_progress)
    finally:
        os.close(fd)


def _hash_path(path: str, buf: bytearray, on_progress: ProgressFn | None) -> tuple[int, bytes]:
    try:
        return _hash_path_raw(path, buf, on_progress)
    except OSError as exc:
        raise _read_error(path, exc) from None


def hash_file(path: Path, *, on_progress: ProgressFn | None = None) -> Digest:
    """Plain BLAKE3 of a file's bytes; ``on_progress(n)`` as bytes are hashed."""
    return Digest(_hash_path(os.fspath(path), bytearray(_BUFFER), on_progress)[1])


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    """Forking is safe only when this process runs a single thread (Linux tells us exactly)."""
    if not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _hash_here(paths: Sequence[str], on_progress: ProgressFn | None) -> list[tuple[int, bytes]]:
    buf = bytearray(_BUFFER)
    return [_hash_path(p, buf, on_progress) for p in paths]


def _split(jobs: Sequence[tuple[str, int]], parts: int) -> list[list[str]]:
    """Cut the job list into ``parts`` consecutive runs of about the same number of bytes."""
    total = sum(size for _, size in jobs) or 1
    out: list[list[str]] = [[] for _ in range(parts)]
    done = 0
    for path, size in jobs:
        out[min(parts - 1, done * parts // total)].append(path)
        done += size
    return out


def _worker(paths: Sequence[str], fd: int) -> None:
    """In a forked child: hash ``paths`` and write one record per file to ``fd``."""
    buf = bytearray(_BUFFER)
    out = bytearray()
    for p in paths:
        try:
            size, digest = _hash_path_raw(p, buf, None)
            out += _RECORD.pack(size, 0, digest)
        except OSError as exc:
            out += _RECORD.pack(0, exc.errno or errno.EIO, bytes(DIGEST_SIZE))
    view = memoryview(out)
    while view:
        view = view[os.write(fd, view) :]


def _hash_forked(
    jobs: Sequence[tuple[str, int]], workers: int, on_progress: ProgressFn | None
) -> list[tuple[int, bytes]]:
    """Hash small files in ``workers`` processes: this one takes the first share, forked children
    the others. A child that fails as a whole (killed, crashed) has its share redone here."""
    parts = _split(jobs, workers)
    children: list[tuple[int, int, list[str]]] = []
    leftover: list[str] = []  # shares no child could be started for, or whose child failed
    try:
        for part in parts[1:]:
            if not part:
                continue
            read_end, write_end = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # out of processes or memory: do it here
                os.close(read_end)
                os.close(write_end)
                leftover += part
                continue
            if pid == 0:  # pragma: no cover - runs in the child, which never returns
                code = 1
                try:
                    os.close(read_end)
                    _worker(part, write_end)
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_end)
            children.append((pid, read_end, part))
        results = _hash_here(parts[0], on_progress)
        done: dict[str, tuple[int, bytes]] = {}
        while children:
            pid, read_end, part = children[0]
            chunks = []
            while chunk := os.read(read_end, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
            _, status = os.waitpid(pid, 0)
            children.pop(0)  # reaped: nothing left to stop
            os.close(read_end)
            if status != 0 or len(data) != _RECORD.size * len(part):
                leftover += part
                continue
            for path, (size, err, digest) in zip(part, _RECORD.iter_unpack(data), strict=True):
                if err:
                    raise _read_error(path, OSError(err, os.strerror(err)))
                if on_progress is not None:
                    on_progress(size)
                done[path] = (size, digest)
        done.update(zip(leftover, _hash_here(leftover, on_progress), strict=True))
        return results + [done[path] for part in parts[1:] for path in part]
    finally:
        for pid, read_end, _ in children:  # only when leaving on an error: stop our own children
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_end)


def _hash_files(
    jobs: Sequence[tuple[str, int]], workers: int, on_progress: ProgressFn | None
) -> list[tuple[int, bytes]]:
    """``(bytes hashed, digest)`` for each ``(path, expected size)``, in order."""
    small = [(i, job) for i, job in enumerate(jobs) if job[1] < _SMALL_FILE]
    results: list[tuple[int, bytes]] = [(0, b"")] * len(jobs)
    if small:
        small_jobs = [job for _, job in small]
        small_bytes = sum(size for _, size in small_jobs)
        use_pool = (
            workers > 1
            and len(small_jobs) > 1
            and (len(small_jobs) >= _POOL_MIN_FILES or small_bytes >= _POOL_MIN_BYTES)
            and _can_fork()
        )
        if use_pool:
            done = _hash_forked(small_jobs, min(workers, len(small_jobs)), on_progress)
        else:
            done = _hash_here([p for p, _ in small_jobs], on_progress)
        for (i, _), result in zip(small, done, strict=True):
            results[i] = result
    big = [i for i, (_, size) in enumerate(jobs) if size >= _SMALL_FILE]
    buf = bytearray(_BUFFER if big else 0)  # used only if a big file shrank since it was listed
    for i in big:  # after the pool: BLAKE3's own threads use all cores
        results[i] = _hash_path(jobs[i][0], buf, on_progress)
    return results


# --- digests -------------------------------------------------------------------------------


def _file_list_jcs(files: Sequence[FileEntry]) -> bytes:
    """RFC 8785 bytes of a sorted file list, written directly.

    The list has one shape (objects with the keys ``blake3``, ``path``, ``size`` in that order,
    a hex string, a string and an integer), so JCS reduces to JSON string escaping (identical to
    :func:`json.encoder.encode_basestring`: ``\\"``, ``\\\\``, short escapes, other control
    characters as lowercase ``\\u00xx``, everything else as UTF-8) and integers in decimal.
    Raises ``ValueError`` outside that domain; the caller then lets ``rfc8785`` decide.
    """
    parts = []
    for f in files:
        if not 0 <= f.size <= _MAX_JSON_INT:
            raise ValueError("size outside the JSON integer domain")
        parts.append(f'{{"blake3":"{f.digest.hex}","path":{encode_basestring(f.path)},"size":{f.size}}}')
    return ("[" + ",".join(parts) + "]").encode("utf-8")  # lone surrogates raise (a ValueError)


def file_list_bytes(files: Iterable[FileEntry]) -> bytes:
    """The RFC 8785 bytes of a sorted file list: the preimage of a folder's weights digest."""
    ordered = sorted(files, key=lambda f: f.path)
    try:
        return _file_list_jcs(ordered)
    except ValueError:
        import rfc8785  # decides (and words the error) for what the direct writer does not cover

        return rfc8785.dumps([f.as_json() for f in ordered])


def weights_digest(kind: Literal["file", "folder"], files: Sequence[FileEntry]) -> Digest:
    """Recompute a weights digest from a file list, as :func:`hash_model` defines it."""
    if kind == "file":
        if len(files) != 1:
            raise InputError(f"a single-file model lists exactly one file, not {len(files)}")
        return files[0].digest
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):
        raise InputError("a file list names the same path twice")
    for p in paths:
        check_relative_path(p)
    return Digest.of_bytes(file_list_bytes(files))


def model_size(path: Path, *, ignore: Sequence[str] = DEFAULT_IGNORE, follow_symlinks: bool = False) -> int:
    """Bytes :func:`hash_model` would read; lets a caller decide on a progress bar first."""
    if path.is_dir():
        return sum(f.stat.st_size for f in _walk(os.fspath(path), ignore, follow_symlinks))
    return path.stat().st_size if path.exists() else 0


def hash_scan(
    scan: ModelScan,
    *,
    on_progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
) -> ModelDigest:
    """Hash a scanned model. Every byte is read once; with a ``cache``, unchanged files not at all.

    ``workers`` bounds the processes hashing small files (default: the usable cores; 1 keeps
    everything in this process). ``on_progress(n)`` is called as bytes are hashed, and with the
    size of each file taken from the cache.
    """
    known: dict[str, bytes] = {}
    lookup = None
    if cache is not None:
        lookup = cache.lookup(scan.root, {f.path: f.stat for f in scan.files})
        known = lookup.hits
    todo = [f for f in scan.files if f.path not in known]
    hashed = _hash_files([(f.path, f.stat.st_size) for f in todo], workers or _default_workers(), on_progress)
    fresh = dict(zip((f.path for f in todo), hashed, strict=True))
    entries = []
    for f in scan.files:
        if f.path in fresh:
            size, value = fresh[f.path]
        else:
            size, value = f.stat.st_size, known[f.path]
            if on_progress is not None:
                on_progress(size)
        entries.append(FileEntry(f.rel, size, Digest(value)))
    if cache is not None and lookup is not None:
        cache.record(lookup, [(f.path, f.stat, fresh[f.path][1]) for f in todo], started_ns=scan.scanned_ns)
    files = tuple(entries)
    if scan.kind == "file":
        return ModelDigest("file", files, files[0].digest, scan.ignore)
    # names were checked while listing and a listing never repeats a path: no need to recheck
    return ModelDigest("folder", files, Digest.of_bytes(file_list_bytes(files)), scan.ignore)


def hash_model(
    path: Path,
    *,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    follow_symlinks: bool = False,
    on_progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
) -> ModelDigest:
    """Hash a model file or folder. Every byte is read once (none, for files the cache vouches for)."""
    scan = scan_model(path, ignore=ignore, follow_symlinks=follow_symlinks)
    return hash_scan(scan, on_progress=on_progress, workers=workers, cache=cache)
