"""The hashing engine: list a model, read its bytes once, return raw digests.

This is the part of :mod:`registry.hashing.model` that does the work, kept apart so that
``modelseal hash`` can run it without loading anything it does not need: it imports only the
standard modules a bare interpreter already has (plus ``mmap``, ``struct``), ``blake3`` and
:mod:`registry.errors` - no ``dataclasses``, ``typing``, ``pathlib`` or ``json`` at run time.
Results are plain tuples ``(path, size, digest bytes)``; :mod:`registry.hashing.model` wraps them in
the typed public API, which every other caller should use.

How the bytes are read (every byte once, memory bounded):

* files of 8 MiB and more: ``mmap`` in 256 MiB windows, so a 1 GiB shard never occupies more
  than one window of address space. When whole files can be shared evenly between the cores
  (e.g. 4 equal shards on 2 cores), one thread per core hashes one file at a time with
  single-threaded BLAKE3; otherwise each file in turn is hashed by BLAKE3 on all cores (rayon);
* smaller files: ``read`` into one reusable 1 MiB buffer, single-threaded BLAKE3. Many of them
  are split by size between worker processes (``os.fork``, one per core) when the process has a
  single thread; otherwise, or for a few files, they are hashed in this process. CPython threads
  are not used for this: measured here, they are slower than one thread because every ``open``,
  ``read`` and hash call hands the GIL over.

A :class:`registry.hashing.cache.HashCache` passed as ``cache`` lets unchanged files skip the read
(``docs/hashing.md`` says exactly when a recorded digest is trusted).
"""

from __future__ import annotations

import errno
import mmap
import os
import stat as statmod
import struct
import time
import unicodedata

import blake3

from registry.errors import (
    AbsolutePath,
    EmptyModel,
    InputError,
    NonNFCName,
    SpecialFileRefused,
    SymlinkRefused,
    UnsafePath,
)
from registry.hashing.hfcache import snapshot_blobs

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from registry.hashing.cache import HashCache

    ProgressFn = Callable[[int], None]
    RawEntry = tuple[str, int, bytes]  # (recorded path, bytes hashed, 32-byte digest)

DIGEST_SIZE = 32
DEFAULT_IGNORE: tuple[str, ...] = (".git/", ".modelseal/", ".cache/huggingface")
"""Ignore rules applied unless the caller gives its own. They are recorded in the manifest.
``.modelseal/`` is modelseal's own data folder (the default ``MODELSEAL_HOME``, created where the
command runs): without it, ``modelseal hash .`` run inside a model would hash its own cache.
``.cache/huggingface`` (a path rule: that folder, whole) is the tool metadata ``hf download
--local-dir`` writes next to the files it downloads; it is not part of the model."""

MAX_IGNORE_RULES = 64
MAX_IGNORE_RULE_LENGTH = 255


def ignore_rules(extra: Sequence[str] | None = None, *, defaults: bool = True) -> tuple[str, ...]:
    """The rules a command hashes with: :data:`DEFAULT_IGNORE` (unless ``defaults`` is false) and
    then ``extra``, each once, in that order - what ``--ignore`` and ``--no-default-ignore`` mean."""
    rules: list[str] = list(DEFAULT_IGNORE) if defaults else []
    for rule in extra or ():
        if rule not in rules:
            rules.append(rule)
    return check_ignore_rules(rules)


def check_ignore_rules(rules: Sequence[str]) -> tuple[str, ...]:
    """``rules`` if they can be recorded in a manifest: at most :data:`MAX_IGNORE_RULES`, each a
    distinct string of 1..:data:`MAX_IGNORE_RULE_LENGTH` characters without control characters."""
    if len(rules) > MAX_IGNORE_RULES:
        raise InputError(f"at most {MAX_IGNORE_RULES} ignore rules, not {len(rules)}")
    for rule in rules:
        if not isinstance(rule, str) or not 1 <= len(rule) <= MAX_IGNORE_RULE_LENGTH:
            raise InputError(f"ignore rule {rule!r} must be 1 to {MAX_IGNORE_RULE_LENGTH} characters")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in rule):
            raise InputError(f"ignore rule {rule!r} holds a control character")
    if len(set(rules)) != len(rules):
        raise InputError("an ignore rule is listed twice")
    return tuple(rules)


PROGRESS_THRESHOLD = 256 * 1024 * 1024
"""Callers show a progress bar when a model holds more bytes than this."""

_WINDOW = 256 * 1024 * 1024  # bytes of a big file mapped (and handed to BLAKE3) at a time
_SMALL_FILE = 8 * 1024 * 1024  # files below this are read, not mapped, and may go to a worker
_BUFFER = 1024 * 1024  # read buffer for small files, one per process
_POOL_MIN_FILES = 256  # fork workers only when there is enough work to pay for them ...
_POOL_MIN_BYTES = 32 * 1024 * 1024  # ... in files or in bytes
_MAX_JSON_INT = 2**53 - 1  # JCS writes numbers as IEEE doubles: larger sizes need rfc8785's error
_RECORD = struct.Struct("<qi32s")  # a worker's answer per file: bytes hashed, errno, digest
_GLOB_CHARS = frozenset("*?[")
_EVEN_SHARE = 1.02  # big files go one per core only when that keeps all cores busy to within 2%


class ScannedFile:
    """A file found by :func:`scan`: recorded path, absolute path, and its ``stat`` then."""

    __slots__ = ("path", "rel", "stat")

    def __init__(self, rel: str, path: str, stat: os.stat_result) -> None:
        self.rel = rel
        self.path = path
        self.stat = stat

    def __repr__(self) -> str:
        return f"ScannedFile({self.rel!r}, {self.path!r}, size={self.stat.st_size})"


class ModelScan:
    """A listed model, not yet hashed: what :func:`hash_listed` will read.

    ``scanned_ns`` is the wall-clock time taken just before the first ``stat``; the hash cache
    uses it to refuse recording files changed too recently to be told apart by their timestamps.
    """

    __slots__ = ("files", "ignore", "kind", "root", "scanned_ns")

    def __init__(
        self, kind: str, root: str, files: tuple[ScannedFile, ...], ignore: tuple[str, ...], scanned_ns: int
    ) -> None:
        self.kind = kind  # "file" or "folder"
        self.root = root
        self.files = files
        self.ignore = ignore
        self.scanned_ns = scanned_ns

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
    if path.startswith("/") or path.startswith("\\") or (path[1:2] == ":" and path[:1].isascii() and path[0].isalpha()):
        raise AbsolutePath(f"absolute path refused: {path!r}")
    if ":" in path:  # C:x is a drive path and a:b an NTFS stream on Windows: one reading only
        raise UnsafePath(
            f"colon in a file path refused: {path!r}",
            hint="a name with ':' means a drive or a data stream on Windows; rename the file",
        )
    if "\\" in path:
        raise UnsafePath(f"backslash in a file path refused: {path!r}", hint="paths use '/' as separator")
    parts = path.split("/")
    if any(p in ("..", ".", "") for p in parts):
        raise UnsafePath(f"path with '..', '.' or an empty part refused: {path!r}")
    if "\x00" in path:
        raise UnsafePath(f"NUL byte in a file path refused: {path!r}")
    _check_utf8(path)
    if not unicodedata.is_normalized("NFC", path):
        raise NonNFCName(f"file name not in Unicode NFC form refused: {path!r}")
    return path


def _check_utf8(path: str) -> None:
    if not path.isascii():
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes in a name (os.fsdecode's surrogate escapes)
            raise UnsafePath(
                f"file name that is not valid UTF-8 refused: {path!r}", hint="rename the file (names are UTF-8 in JSON)"
            ) from None


def _check_listed(rel: str, name: str) -> None:
    """:func:`check_relative_path` for ``rel`` = an already checked prefix + a listed ``name``.

    A name from a directory listing is never empty, ``.``, ``..``, nor contains ``/`` or NUL, and
    an ASCII name is NFC: such a name needs the full check only if it holds ``\\`` or ``:``.
    """
    if not name.isascii() or "\\" in name or ":" in name:
        check_relative_path(rel)


class _Rules:
    """Gitignore-like subset: ``name/`` matches a folder of that name at any depth, any other rule
    is an ``fnmatch`` pattern (case-sensitive) tested against the whole relative path and against
    the base name. Rules without ``*?[`` are compared as strings; the others are compiled once per
    listing into one regular expression."""

    def __init__(self, rules: Sequence[str]) -> None:
        folders = [r[:-1] for r in rules if r.endswith("/")]
        files = [r for r in rules if not r.endswith("/")]
        self.folder_names = frozenset(r for r in folders if not _GLOB_CHARS.intersection(r))
        self.names = frozenset(r for r in files if not _GLOB_CHARS.intersection(r))
        self.folder_glob = _matcher([r for r in folders if _GLOB_CHARS.intersection(r)])
        self.glob = _matcher([r for r in files if _GLOB_CHARS.intersection(r)])
        self.any_file_rule = bool(self.names) or self.glob is not None

    def file_ignored(self, rel: str, name: str) -> bool:
        if rel in self.names or name in self.names:
            return True
        return self.glob is not None and (self.glob(rel) is not None or self.glob(name) is not None)

    def ignored(self, rel: str, name: str, is_dir: bool) -> bool:
        if is_dir and (name in self.folder_names or (self.folder_glob is not None and self.folder_glob(name))):
            return True
        return self.any_file_rule and self.file_ignored(rel, name)


def _matcher(patterns: Sequence[str]) -> Callable[[str], object] | None:
    """One compiled ``fnmatchcase`` test for any of ``patterns`` (``None`` when there are none)."""
    if not patterns:
        return None
    import fnmatch
    import re

    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _walk(root: str, ignore: Sequence[str], follow_symlinks: bool) -> list[ScannedFile]:
    """Every file under ``root`` (paths joined to ``root`` as given), sorted by recorded path."""
    blobs = snapshot_blobs(root)  # a Hugging Face snapshot: its links into blobs/ are its files
    out: list[ScannedFile] = []
    rules = _Rules(ignore)
    any_file_rule = rules.any_file_rule
    append = out.append

    def walk(folder: str, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_entry_name)  # so the first problem reported is always the same
        except OSError as exc:
            raise InputError(f"cannot list {folder}: {exc.strerror}") from exc
        for entry in entries:
            name = entry.name
            rel = prefix + name
            if entry.is_file(follow_symlinks=False):  # the common case: a plain file
                if any_file_rule and rules.file_ignored(rel, name):
                    continue
                if not name.isascii() or "\\" in name or ":" in name:
                    check_relative_path(rel)
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    raise _read_error(entry.path, exc) from None
                append(ScannedFile(rel, entry.path, st))
                continue
            if entry.is_symlink():
                if rules.ignored(rel, name, entry.is_dir(follow_symlinks=True)):
                    continue
                target = os.path.realpath(entry.path)
                if blobs is not None:  # a Hugging Face snapshot: links into its own blobs only
                    if os.path.commonpath([target, blobs]) != blobs:
                        raise SymlinkRefused(
                            f"symbolic link leaving the Hugging Face cache refused: {rel} -> {os.readlink(entry.path)}",
                            hint="a snapshot's links point into its blobs/ folder; this one was changed",
                        )
                elif not follow_symlinks:
                    raise SymlinkRefused(f"symbolic link refused: {rel} -> {os.readlink(entry.path)}")
                if os.path.isdir(target):
                    raise SymlinkRefused(
                        f"symbolic link to a folder refused: {rel}",
                        hint="only links to files can be followed; copy the folder in instead",
                    )
                if not os.path.isfile(target):
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
                append(ScannedFile(rel, entry.path, st))
            else:
                raise SpecialFileRefused(f"not a regular file: {rel}")

    walk(root, "")
    out.sort(key=lambda f: f.rel)
    return out


def scan(path: str | os.PathLike[str], *, ignore: Sequence[str], follow_symlinks: bool) -> ModelScan:
    """List a model file or folder (names checked, ignore rules applied) and ``stat`` its files."""
    given = os.fspath(path)
    started = time.time_ns()
    try:
        lst = os.lstat(given)
    except FileNotFoundError:
        raise InputError(f"no such file or folder: {given}", hint="give the path of a model file or folder") from None
    except OSError as exc:
        raise _read_error(given, exc) from None
    if statmod.S_ISLNK(lst.st_mode) and not follow_symlinks:
        blobs = snapshot_blobs(os.path.dirname(os.path.abspath(given)))
        if blobs is None or os.path.commonpath([os.path.realpath(given), blobs]) != blobs:
            raise SymlinkRefused(f"symbolic link refused: {given} -> {os.readlink(given)}")
    try:
        st = os.stat(given)
    except OSError:
        raise InputError(f"no such file or folder: {given}", hint="give the path of a model file or folder") from None
    root = os.path.abspath(given)
    if statmod.S_ISREG(st.st_mode):
        name = os.path.basename(root)
        check_relative_path(name)  # recorded as the file list's one path: the same rules
        return ModelScan("file", root, (ScannedFile(name, root, st),), tuple(ignore), started)
    if not statmod.S_ISDIR(st.st_mode):
        raise SpecialFileRefused(f"not a regular file or folder: {given}")
    check_ignore_rules(ignore)
    files = _walk(root, ignore, follow_symlinks)
    if not files:
        raise EmptyModel(f"no files to hash in {given}")
    return ModelScan("folder", root, tuple(files), tuple(ignore), started)


# --- reading and hashing -------------------------------------------------------------------


def _read_error(path: str | os.PathLike[str], exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"no such file: {os.fspath(path)}")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"is a folder, not a file: {os.fspath(path)}")
    if isinstance(exc, PermissionError):
        return InputError(f"permission denied: {os.fspath(path)}")
    return InputError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}")


_ALL_CORES = blake3.blake3.AUTO


def _hash_fd(
    fd: int, size: int, buf: bytearray, on_progress: ProgressFn | None, threads: int = _ALL_CORES
) -> tuple[int, bytes]:
    """BLAKE3 of an open file and the number of bytes it held: mapped when big (hashed by
    ``threads`` threads, default all cores), read when small."""
    if size >= _SMALL_FILE:
        hasher = blake3.blake3(max_threads=threads)
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


def _hash_path_raw(
    path: str, buf: bytearray, on_progress: ProgressFn | None, threads: int = _ALL_CORES
) -> tuple[int, bytes]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return _hash_fd(fd, os.fstat(fd).st_size, buf, on_progress, threads)
    finally:
        os.close(fd)


def hash_path(
    path: str, buf: bytearray, on_progress: ProgressFn | None, threads: int = _ALL_CORES
) -> tuple[int, bytes]:
    """``(bytes hashed, digest)`` of one file, I/O errors as one-line :class:`InputError`."""
    try:
        return _hash_path_raw(path, buf, on_progress, threads)
    except OSError as exc:
        raise _read_error(path, exc) from None


def new_buffer() -> bytearray:
    return bytearray(_BUFFER)


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
    return [hash_path(p, buf, on_progress) for p in paths]


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
            os.kill(pid, 9)  # SIGKILL
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
    if workers > 1 and _evenly_shared([jobs[i][1] for i in big], workers):
        _hash_big_side_by_side(jobs, big, workers, on_progress, results)
        return results
    buf = bytearray(_BUFFER if big else 0)  # used only if a big file shrank since it was listed
    for i in big:  # after the pool: BLAKE3's own threads use all cores
        results[i] = hash_path(jobs[i][0], buf, on_progress)
    return results


def _evenly_shared(sizes: Sequence[int], workers: int) -> bool:
    """Whether whole files, given largest first to the least loaded of ``workers``, keep every
    worker busy to within :data:`_EVEN_SHARE` of the average (e.g. 4 equal shards on 2 cores)."""
    if len(sizes) < workers:
        return False
    loads = [0] * workers
    for size in sorted(sizes, reverse=True):
        loads[loads.index(min(loads))] += size
    return max(loads) <= _EVEN_SHARE * sum(sizes) / workers


def _hash_big_side_by_side(
    jobs: Sequence[tuple[str, int]],
    big: Sequence[int],
    workers: int,
    on_progress: ProgressFn | None,
    results: list[tuple[int, bytes]],
) -> None:
    """Hash big files one per thread (this one and ``workers - 1`` others), largest first, each
    with single-threaded BLAKE3 (which runs without the GIL). Measured here on four 1 GiB shards,
    this beats one file at a time on all cores by a few per cent: no hand-over between cores
    inside a file, and each core faults in the pages of its own file.

    The first error (or Ctrl-C) stops every thread at its next 256 MiB window and is raised here;
    ``on_progress`` is called from any of the threads, one call at a time."""
    import threading

    lock = threading.Lock()
    stop = threading.Event()
    queue = sorted(big, key=lambda i: jobs[i][1])  # popped from the end: largest first
    failed: list[BaseException] = []

    def report(n: int) -> None:  # called after each window: where a thread learns to stop
        if stop.is_set():
            raise _Stopped
        if on_progress is not None:
            with lock:
                on_progress(n)

    def work() -> None:
        try:
            buf = bytearray(_BUFFER)  # used only if a big file shrank since it was listed
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    i = queue.pop()
                results[i] = hash_path(jobs[i][0], buf, report, 1)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the calling thread, which raises it (Ctrl-C too)
            stop.set()
            failed.append(exc)

    others: list[threading.Thread] = []
    try:
        for n in range(workers - 1):
            thread = threading.Thread(target=work, name=f"modelseal-hash-{n}", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # cannot start a thread (process limits): fewer threads do it all
                break
            others.append(thread)
        work()
    except BaseException:
        stop.set()
        raise
    finally:
        for thread in others:
            thread.join()
    if failed:
        raise failed[0]


class _Stopped(Exception):
    """Raised inside a hashing thread once another one has failed."""


def hash_listed(
    listed: ModelScan,
    *,
    on_progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
) -> tuple[list[RawEntry], bytes]:
    """Hash a scanned model: ``([(path, size, digest), ...] in listing order, weights digest)``.

    Every byte is read once; with a ``cache``, unchanged files not at all. ``workers`` bounds the
    processes hashing small files (default: the usable cores; 1 keeps everything in this
    process). ``on_progress(n)`` is called as bytes are hashed, and with the size of each file
    taken from the cache.
    """
    files = listed.files
    known: dict[str, bytes] = {}
    lookup = None
    if cache is not None:
        lookup = cache.lookup(listed.root, {f.path: f.stat for f in files})
        known = lookup.hits
    todo = [f for f in files if f.path not in known] if known else list(files)
    hashed = _hash_files([(f.path, f.stat.st_size) for f in todo], workers or _default_workers(), on_progress)
    fresh = {f.path: result for f, result in zip(todo, hashed, strict=True)}
    entries: list[RawEntry] = []
    cached_bytes = 0
    for f in files:
        got = fresh.get(f.path)
        if got is None:
            size = f.stat.st_size
            entries.append((f.rel, size, known[f.path]))
            cached_bytes += size
        else:
            entries.append((f.rel, got[0], got[1]))
    if on_progress is not None and cached_bytes:
        on_progress(cached_bytes)
    if cache is not None and lookup is not None:
        cache.record(lookup, [(f.path, f.stat, fresh[f.path][1]) for f in todo], started_ns=listed.scanned_ns)
    if listed.kind == "file":
        return entries, entries[0][2]
    # names were checked while listing and a listing never repeats a path: no need to recheck
    return entries, blake3.blake3(file_list_jcs(entries)).digest()


# --- the file list -------------------------------------------------------------------------


def _json_string(text: str) -> str:
    """A JSON string literal as RFC 8785 writes it (= :func:`json.encoder.encode_basestring`)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'  # nothing to escape: the common case
    from json.encoder import encode_basestring

    return encode_basestring(text)


def file_list_jcs(entries: Sequence[RawEntry]) -> bytes:
    """RFC 8785 bytes of a file list already sorted by path, written directly.

    The list has one shape (objects with the keys ``blake3``, ``path``, ``size`` in that order,
    a hex string, a string and an integer), so JCS reduces to JSON string escaping (identical to
    :func:`json.encoder.encode_basestring`: ``\\"``, ``\\\\``, short escapes, other control
    characters as lowercase ``\\u00xx``, everything else as UTF-8) and integers in decimal.
    Raises ``ValueError`` outside that domain; :func:`registry.hashing.model.file_list_bytes` then lets
    ``rfc8785`` decide and word the error.
    """
    parts = []
    for path, size, digest in entries:
        if not 0 <= size <= _MAX_JSON_INT:
            raise ValueError("size outside the JSON integer domain")
        parts.append(f'{{"blake3":"{digest.hex()}","path":{_json_string(path)},"size":{size}}}')
    return ("[" + ",".join(parts) + "]").encode("utf-8")  # lone surrogates raise (a ValueError)
