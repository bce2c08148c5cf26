"""BLAKE3 digests of files and of model folders.

This module owns the bytes-to-digest step of modelseal and nothing else: it reads files, it never
signs, never talks to a chain and never prints (progress is reported through a callback).

* :func:`hash_file` - plain ``blake3(file bytes)``, the value ``b3sum`` prints, computed over
  ``mmap`` with all cores.
* :func:`hash_model` - a model is a file or a folder. A folder is listed (sorted POSIX relative
  paths, NFC names, no symlinks unless asked, ignore rules applied) and its **weights digest** is
  the BLAKE3 of the RFC 8785 (JCS) bytes of ``[{"path", "size", "blake3"}, ...]``. A single file's
  weights digest is its plain BLAKE3.
* :func:`weights_digest` - recompute the weights digest from a file list (used when parsing a
  manifest, so a document whose list and digest disagree is refused).

The exact format is in ``docs/formats.md``.
"""

from __future__ import annotations

import fnmatch
import mmap
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import blake3
import rfc8785

from registry.errors import (
    AbsolutePath,
    InputError,
    NonNFCName,
    PathRefused,
    SymlinkRefused,
    UnsafePath,
)

ALGORITHM = "blake3"
DIGEST_SIZE = 32
DEFAULT_IGNORE: tuple[str, ...] = (".git/",)
"""Ignore rules applied unless the caller gives its own. They are recorded in the manifest."""

PROGRESS_THRESHOLD = 256 * 1024 * 1024
"""Callers show a progress bar when a model holds more bytes than this."""

_CHUNK = 256 * 1024 * 1024  # bytes handed to BLAKE3 per call: big enough for all cores
_SMALL_FILE = 8 * 1024 * 1024  # files below this are hashed by a pool, one thread each

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


def _ignored(rel: str, is_dir: bool, rules: Sequence[str]) -> bool:
    """Gitignore-like subset: ``name/`` matches a folder of that name at any depth, any other rule
    is an ``fnmatch`` pattern tested against the whole relative path and against the base name."""
    name = rel.rsplit("/", 1)[-1]
    for rule in rules:
        if rule.endswith("/"):
            if is_dir and fnmatch.fnmatchcase(name, rule[:-1]):
                return True
        elif fnmatch.fnmatchcase(rel, rule) or fnmatch.fnmatchcase(name, rule):
            return True
    return False


def list_files(
    root: Path, *, ignore: Sequence[str] = DEFAULT_IGNORE, follow_symlinks: bool = False
) -> list[tuple[str, Path]]:
    """The files of a model folder as sorted ``(relative posix path, absolute path)`` pairs."""
    out: list[tuple[str, Path]] = []

    def walk(folder: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list {folder}: {exc.strerror}") from exc
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_symlink():
                if _ignored(rel, entry.is_dir(follow_symlinks=True), ignore):
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
            if _ignored(rel, is_dir, ignore):
                continue
            check_relative_path(rel)
            if is_dir:
                walk(Path(entry.path), rel + "/")
            elif entry.is_file(follow_symlinks=True):
                out.append((rel, Path(entry.path)))
            else:
                raise PathRefused(
                    f"not a regular file: {rel}", hint="sockets, fifos and devices cannot be part of a model"
                )

    walk(root, "")
    out.sort(key=lambda pair: pair[0])
    return out


# --- digests -------------------------------------------------------------------------------


def hash_file(path: Path, *, on_progress: ProgressFn | None = None) -> Digest:
    """Plain BLAKE3 of a file's bytes (mmap, all cores); ``on_progress(n)`` after each chunk."""
    return _hash_sized(path, on_progress)[0]


def _hash_sized(path: Path, on_progress: ProgressFn | None) -> tuple[Digest, int]:
    """The digest and the number of bytes hashed, both from the same open file."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                return Digest(hasher.digest()), 0
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm, memoryview(mm) as view:
                for start in range(0, size, _CHUNK):
                    with view[start : start + _CHUNK] as chunk:
                        hasher.update(chunk)
                        if on_progress is not None:
                            on_progress(len(chunk))
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"is a folder, not a file: {path}") from None
    except PermissionError:
        raise InputError(f"permission denied: {path}") from None
    return Digest(hasher.digest()), size


def file_list_bytes(files: Iterable[FileEntry]) -> bytes:
    """The RFC 8785 bytes of a sorted file list: the preimage of a folder's weights digest."""
    return rfc8785.dumps([f.as_json() for f in sorted(files, key=lambda f: f.path)])


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
        return sum(p.stat().st_size for _, p in list_files(path, ignore=ignore, follow_symlinks=follow_symlinks))
    return path.stat().st_size if path.exists() else 0


def hash_model(
    path: Path,
    *,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    follow_symlinks: bool = False,
    on_progress: ProgressFn | None = None,
    workers: int | None = None,
) -> ModelDigest:
    """Hash a model file or folder. Every byte is read once."""
    path = Path(path)
    if path.is_symlink() and not follow_symlinks:
        raise SymlinkRefused(f"symbolic link refused: {path} -> {os.readlink(path)}")
    if not path.exists():
        raise InputError(f"no such file or folder: {path}", hint="give the path of a model file or folder")
    if path.is_file():
        name = path.name
        if not unicodedata.is_normalized("NFC", name):
            raise NonNFCName(f"file name not in Unicode NFC form refused: {name!r}")
        digest, size = _hash_sized(path, on_progress)
        return ModelDigest("file", (FileEntry(name, size, digest),), digest, tuple(ignore))
    if not path.is_dir():
        raise PathRefused(f"not a regular file or folder: {path}")

    listed = list_files(path, ignore=ignore, follow_symlinks=follow_symlinks)
    if not listed:
        raise InputError(f"no files to hash in {path}", hint="check the folder and the --ignore rules")
    sizes = {rel: p.stat().st_size for rel, p in listed}
    small = [(rel, p) for rel, p in listed if sizes[rel] < _SMALL_FILE]
    large = [(rel, p) for rel, p in listed if sizes[rel] >= _SMALL_FILE]
    results: dict[str, FileEntry] = {}

    def one_small(item: tuple[str, Path]) -> FileEntry:
        rel, p = item
        data = p.read_bytes()
        entry = FileEntry(rel, len(data), Digest(blake3.blake3(data).digest()))
        if on_progress is not None:
            on_progress(len(data))
        return entry

    if small:
        with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 1) * 2)) as pool:
            for entry in pool.map(one_small, small):
                results[entry.path] = entry
    for rel, p in large:
        digest, size = _hash_sized(p, on_progress)
        results[rel] = FileEntry(rel, size, digest)

    files = tuple(results[rel] for rel, _ in listed)
    return ModelDigest("folder", files, weights_digest("folder", files), tuple(ignore))
