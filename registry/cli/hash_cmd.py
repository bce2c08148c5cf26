"""``modelseal hash``: the whole command, run by the typer command and by the fast entry.

Owns what ``modelseal hash`` does and prints. :mod:`registry.cli.entry` runs it straight from
``sys.argv`` without loading typer or rich, so it imports only :mod:`registry.hashing.engine` and
:mod:`registry.hashing.cache` up front; everything else (rich for a progress bar or a coloured
line, json for ``--json``, the OMS reader) is imported only on the path that uses it.
"""

from __future__ import annotations

import os
import sys

from registry.hashing import engine as hashengine
from registry.hashing.cache import HashCache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads the name)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from registry.hashing.engine import ModelScan, ProgressFn, RawEntry

HELP = (
    "Print the BLAKE3 of every file of a model and its weights digest.\n\n"
    "Per-file digests equal `b3sum`; a folder's weights digest is the BLAKE3 of its canonical file list "
    "(docs/formats.md). Files unchanged since modelseal last read them (same path, size, mtime, ctime, inode, "
    "device) are taken from the hash cache in the data folder unless --no-cache; `verify-manifest` never uses it."
)


def hash_with_bar(
    listed: ModelScan, *, label: str, quiet: bool, cache: HashCache | None
) -> tuple[list[RawEntry], bytes]:
    """Hash a listed model with a progress bar by bytes, on stderr, when it is a terminal, the
    model is big (:data:`hashengine.PROGRESS_THRESHOLD`) and not ``quiet``; warn on stderr if the
    hash cache could not be used."""
    total = listed.total_bytes
    if quiet or total <= hashengine.PROGRESS_THRESHOLD or not sys.stderr.isatty():
        result = hashengine.hash_listed(listed, cache=cache)
    else:
        from registry.cli import console

        tick: ProgressFn | None
        with console.byte_progress(total, label=label, enabled=True) as tick:
            result = hashengine.hash_listed(listed, on_progress=tick, cache=cache)
    if cache is not None and cache.problem:
        _warn(cache.problem)
    return result


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def run(
    path: str,
    *,
    as_json: bool = False,
    ignore: Sequence[str] | None = None,
    no_default_ignore: bool = False,
    follow_symlinks: bool = False,
    no_cache: bool = False,
    compare_oms: str | None = None,
) -> int:
    """Run ``modelseal hash`` and return its exit status (errors are raised, as
    :class:`registry.errors.ModelsealError`, for the caller to print)."""
    signature = None
    if compare_oms is not None:
        from pathlib import Path

        from registry.hashing.oms import OmsSignature

        signature = OmsSignature.read(Path(compare_oms))  # refuse a bad signature before hashing
    if path.startswith("hf:"):  # a model in the local Hugging Face cache: its snapshot folder
        from registry.hashing.hfcache import resolve

        path = resolve(path)
    path, compare_oms = _shown(path), (_shown(compare_oms) if compare_oms is not None else None)
    rules = hashengine.ignore_rules(ignore, defaults=not no_default_ignore)
    listed = hashengine.scan(path, ignore=rules, follow_symlinks=follow_symlinks)
    cache = None if no_cache else HashCache.in_home()
    label = f"hashing {os.path.basename(os.path.normpath(path))}"
    entries, weights = hash_with_bar(listed, label=label, quiet=as_json, cache=cache)
    if signature is None:
        if as_json:
            _print_json(_report(path, listed, entries, weights))
            return 0
        _print_text(listed, entries, weights)
        return 0
    from pathlib import Path

    from registry.hashing.model import model_digest
    from registry.hashing.oms import compare

    comparison = compare(signature, model_digest(listed, entries, weights), Path(path))
    if as_json:
        report = _report(path, listed, entries, weights)
        report["oms"] = {"signature": compare_oms, **comparison.as_json()}
        _print_json(report)
        return 0 if comparison.agrees else 1
    _print_text(listed, entries, weights)
    sig = comparison.signature
    sys.stdout.write(
        f"OMS signature {compare_oms}: model {sig.model_name!r}, {sig.hash_type}, {len(sig.resources)} files "
        "(its own signature is not verified here; use `model_signing verify`)\n"
        + "".join(f"  {f.status:<9} {f.path}\n" for f in comparison.files)
    )
    counts = comparison.counts()
    if comparison.agrees:
        from registry.cli import console

        console.out.print(f"[green]agrees[/] with the OMS signature on all {counts['match']} files")
        return 0
    from registry.errors import DigestMismatch

    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    hint = "these are not the bytes the OMS signature covers"
    if comparison.suggested_ignore:
        wanted = [r for r in comparison.suggested_ignore if r not in rules]
        options = " ".join(f"--ignore {r!r}" for r in wanted)
        hint = f"OMS ignored files that modelseal hashed; to hash the same set pass {options}"
    raise DigestMismatch(f"{path} does not agree with the OMS signature {compare_oms} ({summary})", hint=hint)


def _shown(path: str) -> str:
    """``str(pathlib.Path(path))`` without importing pathlib: how typer passed paths in before,
    so reports and messages are the same whichever entry ran the command."""
    if not path:
        return "."
    lead = "//" if path.startswith("//") and not path.startswith("///") else "/" if path.startswith("/") else ""
    return lead + "/".join(part for part in path.split("/") if part not in ("", ".")) or "."


def _report(path: str, listed: ModelScan, entries: list[RawEntry], weights: bytes) -> dict[str, object]:
    return {
        "path": path,
        "kind": listed.kind,
        "weights": weights.hex(),
        "algorithm": "blake3",
        "ignore": list(listed.ignore),
        "files": [{"path": p, "size": size, "blake3": digest.hex()} for p, size, digest in entries],
    }


def _print_json(data: object) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _print_text(listed: ModelScan, entries: list[RawEntry], weights: bytes) -> None:
    lines = [f"{digest.hex()}  {p}\n" for p, _, digest in entries]  # plain writes: names are not markup
    total = sum(size for _, size, _ in entries)
    count = f"{len(entries)} file{'' if len(entries) == 1 else 's'}"
    lines.append(f"weights {weights.hex()}  ({listed.kind}, {count}, {total} bytes)\n")
    sys.stdout.write("".join(lines))
