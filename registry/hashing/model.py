"""BLAKE3 digests of files and of model folders: the typed public API.

This module owns the bytes-to-digest step of modelseal and nothing else: it reads files, it never
signs, never talks to a chain and never prints (progress is reported through a callback). The
work itself is done by :mod:`registry.hashing.engine` (kept free of heavy imports so that
``modelseal hash`` starts fast); this module wraps its raw results in typed values.

* :func:`hash_file` - plain ``blake3(file bytes)``, the value ``b3sum`` prints.
* :func:`hash_model` - a model is a file or a folder. A folder is listed (sorted POSIX relative
  paths, NFC names, no symlinks unless asked, ignore rules applied) and its **weights digest** is
  the BLAKE3 of the RFC 8785 (JCS) bytes of ``[{"path", "size", "blake3"}, ...]``. A single file's
  weights digest is its plain BLAKE3. :func:`scan_model` + :func:`hash_scan` are the same in two
  steps, for a caller that wants the byte total first (a progress bar) without listing twice.
* :func:`weights_digest` - recompute the weights digest from a file list (used when parsing a
  manifest, so a document whose list and digest disagree is refused).

How the bytes are read (every byte once, memory bounded, big files mapped and hashed on all
cores, many small files split between forked workers) is described in
:mod:`registry.hashing.engine`; the hash cache (:mod:`registry.hashing.cache`) lets unchanged files skip
the read, and ``docs/hashing.md`` says exactly when. The exact format is in ``docs/formats.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import blake3

from registry.errors import InputError
from registry.hashing import engine as hashengine
from registry.hashing.engine import (
    DEFAULT_IGNORE,
    DIGEST_SIZE,
    PROGRESS_THRESHOLD,
    ModelScan,
    ScannedFile,
    check_ignore_rules,
    check_relative_path,
    ignore_rules,
)

if TYPE_CHECKING:
    from registry.hashing.cache import HashCache

__all__ = [  # the engine's public names are part of this API
    "ALGORITHM",
    "DEFAULT_IGNORE",
    "DIGEST_SIZE",
    "PROGRESS_THRESHOLD",
    "Digest",
    "FileEntry",
    "ModelDigest",
    "ModelScan",
    "ProgressFn",
    "ScannedFile",
    "check_ignore_rules",
    "check_relative_path",
    "file_list_bytes",
    "hash_file",
    "hash_model",
    "hash_scan",
    "ignore_rules",
    "model_digest",
    "model_size",
    "scan_model",
    "weights_digest",
]

ALGORITHM = "blake3"

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


def scan_model(path: Path, *, ignore: Sequence[str] = DEFAULT_IGNORE, follow_symlinks: bool = False) -> ModelScan:
    """List a model file or folder (names checked, ignore rules applied) and ``stat`` its files."""
    return hashengine.scan(path, ignore=ignore, follow_symlinks=follow_symlinks)


def hash_file(path: Path, *, on_progress: ProgressFn | None = None) -> Digest:
    """Plain BLAKE3 of a file's bytes; ``on_progress(n)`` as bytes are hashed."""
    return Digest(hashengine.hash_path(os.fspath(path), hashengine.new_buffer(), on_progress)[1])


def file_list_bytes(files: Iterable[FileEntry]) -> bytes:
    """The RFC 8785 bytes of a sorted file list: the preimage of a folder's weights digest."""
    ordered = sorted(files, key=lambda f: f.path)
    try:
        return hashengine.file_list_jcs([(f.path, f.size, f.digest.value) for f in ordered])
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
        return sum(f.stat.st_size for f in hashengine._walk(os.fspath(path), ignore, follow_symlinks))
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
    bytes of the files taken from the cache.
    """
    entries, weights = hashengine.hash_listed(scan, on_progress=on_progress, workers=workers, cache=cache)
    return model_digest(scan, entries, weights)


def model_digest(scan: ModelScan, entries: Sequence[tuple[str, int, bytes]], weights: bytes) -> ModelDigest:
    """Wrap what :func:`registry.hashing.engine.hash_listed` returned for ``scan`` in typed values."""
    files = tuple(FileEntry(path, size, Digest(value)) for path, size, value in entries)
    kind: Literal["file", "folder"] = "file" if scan.kind == "file" else "folder"
    return ModelDigest(kind, files, Digest(weights), scan.ignore)


def hash_model(
    path: Path,
    *,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    follow_symlinks: bool = False,
    on_progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: HashCache | None = None,
) -> ModelDigest:
    """Hash a model file or folder. Every byte is read once (none, for files the cache vouches for).

    ``on_progress`` may be called from hashing threads other than the caller's, one call at a time.
    """
    scan = scan_model(path, ignore=ignore, follow_symlinks=follow_symlinks)
    return hash_scan(scan, on_progress=on_progress, workers=workers, cache=cache)
