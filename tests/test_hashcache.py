"""registry.hashing.cache: a recorded digest stands in for a file only while its stat key is unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import blake3
import pytest
from conftest import CliRun

from registry.hashing import engine as hashengine
from registry.hashing import model as hashing
from registry.hashing.cache import CACHE_FILE, HashCache
from registry.hashing.model import hash_model

Reads = list[str]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """The absolute paths hashing actually reads, call after call."""
    seen: Reads = []
    real = hashengine._hash_files

    def spy(jobs: Sequence[tuple[str, int]], workers: int, on_progress: Callable[[int], None] | None) -> object:
        seen.extend(path for path, _ in jobs)
        return real(jobs, workers, on_progress)

    monkeypatch.setattr(hashengine, "_hash_files", spy)
    return seen


def trusting_cache(tmp_path: Path) -> HashCache:
    """A cache that records files changed just now (a zero racy window), for tests only."""
    return HashCache(tmp_path / "home" / CACHE_FILE, racy_window_ns=0)


def rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    """Write ``data`` (same length) and put the old mtime back, as a careless tool or an attacker
    would; ``ctime`` still moves. Retries if the write lands in the same timestamp tick."""
    before = path.stat()
    assert len(data) == before.st_size
    for _ in range(100):
        path.write_bytes(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = path.stat()
        if after.st_ctime_ns != before.st_ctime_ns:
            assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
                before.st_size,
                before.st_mtime_ns,
                before.st_ino,
            )
            return
        time.sleep(0.01)
    raise AssertionError("ctime never moved")


def test_unchanged_files_are_not_read_again(model_dir: Path, tmp_path: Path, reads: Reads) -> None:
    cache = trusting_cache(tmp_path)
    first = hash_model(model_dir, cache=cache)
    assert len(reads) == 4
    reads.clear()
    again = hash_model(model_dir, cache=cache)
    assert reads == []
    assert again == first


def test_content_change_with_same_size_and_restored_mtime_is_read_again(
    model_dir: Path, tmp_path: Path, reads: Reads
) -> None:
    cache = trusting_cache(tmp_path)
    target = model_dir / "weights" / "model-00001.safetensors"
    before = hash_model(model_dir, cache=cache)
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    rewrite_keeping_size_and_mtime(target, bytes(data))
    reads.clear()
    after = hash_model(model_dir, cache=cache)
    assert reads == [str(target.resolve())]
    entry = next(f for f in after.files if f.path == "weights/model-00001.safetensors")
    assert entry.digest.value == blake3.blake3(bytes(data)).digest()
    assert after.weights != before.weights
    assert after == hash_model(model_dir)  # the same as without any cache


def test_file_replaced_by_another_with_same_size_and_mtime_is_read_again(
    model_dir: Path, tmp_path: Path, reads: Reads
) -> None:
    cache = trusting_cache(tmp_path)
    target = model_dir / "config.json"
    old = target.stat()
    hash_model(model_dir, cache=cache)
    replacement = model_dir / "config.new"
    replacement.write_text('{"hidden": 65}\n')
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, target)
    assert target.stat().st_ino != old.st_ino
    reads.clear()
    after = hash_model(model_dir, cache=cache)
    assert reads == [str(target.resolve())]
    assert after == hash_model(model_dir)


def test_recently_changed_files_are_not_recorded(model_dir: Path, tmp_path: Path, reads: Reads) -> None:
    cache = HashCache(tmp_path / CACHE_FILE)  # the real 2 s window: these files were just written
    hash_model(model_dir, cache=cache)
    reads.clear()
    hash_model(model_dir, cache=cache)
    assert len(reads) == 4


def test_old_files_are_recorded_with_the_real_window(model_dir: Path, tmp_path: Path, reads: Reads) -> None:
    # ctime cannot be set back: list the model as if 10 s had passed since it was written
    scan = hashing.scan_model(model_dir)
    shifted = hashing.ModelScan(scan.kind, scan.root, scan.files, scan.ignore, scan.scanned_ns + 10**10)
    cache = HashCache(tmp_path / CACHE_FILE)
    hashing.hash_scan(shifted, cache=cache)
    reads.clear()
    hash_model(model_dir, cache=cache)
    assert reads == []


def test_cache_is_keyed_by_absolute_path(model_dir: Path, tmp_path: Path, reads: Reads) -> None:
    cache = trusting_cache(tmp_path)
    hash_model(model_dir, cache=cache)
    moved = tmp_path / "moved"
    model_dir.rename(moved)
    reads.clear()
    hash_model(moved, cache=cache)  # rename changes ctime too, but a new path alone must miss
    assert len(reads) == 4


def test_removed_files_are_forgotten(model_dir: Path, tmp_path: Path) -> None:
    import sqlite3

    cache = trusting_cache(tmp_path)
    hash_model(model_dir, cache=cache)
    (model_dir / "tokenizer.json").unlink()
    hash_model(model_dir, cache=cache)
    with sqlite3.connect(cache.path) as db:
        paths = sorted(os.fsdecode(p) for (p,) in db.execute("SELECT path FROM files"))
    assert [Path(p).relative_to(model_dir.resolve()).as_posix() for p in paths] == [
        "config.json",
        "weights/model-00001.safetensors",
        "weights/model-00002.safetensors",
    ]


def test_single_file_model_uses_the_cache(tmp_path: Path, reads: Reads) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(os.urandom(10_000))
    cache = trusting_cache(tmp_path)
    first = hash_model(model, cache=cache)
    reads.clear()
    assert hash_model(model, cache=cache) == first
    assert reads == []


def test_broken_cache_file_only_costs_a_reread(model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    path.write_bytes(b"this is not a database" * 100)
    cache = HashCache(path, racy_window_ns=0)
    assert hash_model(model_dir, cache=cache) == hash_model(model_dir)
    assert cache.problem is not None and "delete the file" in cache.problem


def test_default_location_is_the_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from registry.settings import Settings

    monkeypatch.delenv("MODELSEAL_HOME", raising=False)
    assert HashCache.in_home().path == Settings().home / CACHE_FILE
    monkeypatch.setenv("MODELSEAL_HOME", str(tmp_path / "data"))
    assert HashCache.in_home().path == Settings().home / CACHE_FILE == tmp_path / "data" / CACHE_FILE


def _schema_1_cache(path: Path) -> None:
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:  # schema 1: the key in five integer columns
        db.execute(
            "CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,"
            " inode INTEGER, device INTEGER, blake3 BLOB, recorded_ns INTEGER) WITHOUT ROWID"
        )
        db.execute("PRAGMA user_version=1")


@pytest.mark.parametrize("start", ["no cache", "schema-1 cache"])
def test_processes_can_use_the_cache_at_once(tmp_path: Path, start: str) -> None:
    """Also when they all find an older cache and replace its schema at the same moment: a process
    that lost that race must still use the new schema, not the one it first read."""
    folders = []
    for n in range(4):
        folder = tmp_path / f"model{n}"
        folder.mkdir()
        for i in range(300):
            (folder / f"f{i:03d}").write_bytes(os.urandom(2000))
        folders.append(folder)
    script = (
        "import sys; from pathlib import Path\n"
        "from registry.hashing.cache import HashCache\n"
        "from registry.hashing.model import hash_model\n"
        "import time\n"
        "cache = HashCache(Path(sys.argv[1]), racy_window_ns=0)\n"
        "while time.time() < float(sys.argv[3]):  # all start together\n"
        "    pass\n"
        "for _ in range(20):\n"
        "    md = hash_model(Path(sys.argv[2]), cache=cache)\n"
        "    assert cache.problem is None, cache.problem\n"
        "print(md.weights.hex)\n"
    )
    db = tmp_path / "shared" / CACHE_FILE
    if start == "schema-1 cache":
        _schema_1_cache(db)
    start = str(time.time() + 2)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db), str(f), start], stdout=subprocess.PIPE, text=True)
        for f in folders
    ]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * len(folders)
    assert outs == [hash_model(f).weights.hex for f in folders]


# --- through the command line ----------------------------------------------------------------


def test_hash_command_uses_the_cache_and_verification_never_does(cli: CliRun, model_dir: Path, tmp_path: Path) -> None:
    """Plant a wrong digest in the cache for a file's current key: `hash` shows it (so the cache is
    used), `hash --no-cache` and `verify-manifest` read the bytes and are not fooled."""
    cli("keygen", "--name", "pub", check=True)
    manifest = tmp_path / "m.json"
    cli(
        "manifest", "create", model_dir, "--namespace", "acme", "--model", "chat", "--version", "1",
        "--key", "pub", "-o", manifest, check=True,
    )  # fmt: skip
    cli("sign", manifest, "--key", "pub", check=True)

    target = (model_dir / "config.json").resolve()
    cache = HashCache(tmp_path / "home" / CACHE_FILE, racy_window_ns=0)  # the cli fixture's home
    lookup = cache.lookup(str(model_dir.resolve()), {})
    assert cache.record(lookup, [(str(target), target.stat(), b"\x01" * 32)], started_ns=time.time_ns()) == 1

    planted = json.loads(cli("hash", model_dir, "--json", check=True).stdout)
    assert {f["path"]: f["blake3"] for f in planted["files"]}["config.json"] == "01" * 32

    honest = json.loads(cli("hash", model_dir, "--json", "--no-cache", check=True).stdout)
    assert honest["weights"] == hash_model(model_dir).weights.hex

    verified = cli("verify-manifest", manifest, "--model", model_dir, "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["model"]["matches"] is True


def test_cache_written_by_an_older_schema_is_replaced(model_dir: Path, tmp_path: Path, reads: Reads) -> None:
    import sqlite3

    path = tmp_path / CACHE_FILE
    _schema_1_cache(path)
    cache = HashCache(path, racy_window_ns=0)
    first = hash_model(model_dir, cache=cache)
    assert cache.problem is None
    assert len(reads) == 4  # nothing usable in the old rows: every file read, then recorded anew
    reads.clear()
    again = hash_model(model_dir, cache=cache)
    assert reads == [] and cache.problem is None
    assert again == first == hash_model(model_dir)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


def test_cache_from_a_newer_modelseal_is_left_alone(model_dir: Path, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / CACHE_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    cache = HashCache(path, racy_window_ns=0)
    assert hash_model(model_dir, cache=cache) == hash_model(model_dir)
    assert cache.problem is not None and "schema 99" in cache.problem
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99


def test_hashing_a_model_from_inside_it_leaves_out_the_data_folder(model_dir: Path) -> None:
    """`cd model && modelseal hash .` creates the hash cache in ./.modelseal, inside the model: the
    default rules leave it out, so the second run gives the same digest as the first."""
    env = {k: v for k, v in os.environ.items() if k != "MODELSEAL_HOME"}
    planted = HashCache(model_dir / ".modelseal" / CACHE_FILE, racy_window_ns=0)  # as an earlier run leaves it
    hash_model(model_dir, cache=planted)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "registry", "hash", ".", "--json"],
            cwd=model_dir,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for _ in range(2)
    ]
    assert (model_dir / ".modelseal" / CACHE_FILE).is_file()
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["weights"] == second["weights"] == hash_model(model_dir).weights.hex
    assert not any(f["path"].startswith(".modelseal/") for f in second["files"])


def test_timestamps_outside_the_key_range_are_never_cached(tmp_path: Path, reads: Reads) -> None:
    """A file dated after 2262 (or before 1677) does not fit the packed key: read every time, no error."""
    root = tmp_path / "m"
    root.mkdir()
    (root / "a.bin").write_bytes(b"a")
    (root / "b.bin").write_bytes(b"b")
    cache = trusting_cache(tmp_path)
    hash_model(root, cache=cache)
    os.utime(root / "b.bin", ns=(0, 10_413_792_000 * 10**9))  # 2300-01-01: beyond a signed 64-bit ns count
    reads.clear()
    md = hash_model(root, cache=cache)
    assert cache.problem is None
    assert reads == [str((root / "b.bin").resolve())]
    reads.clear()
    assert hash_model(root, cache=cache) == md and reads == [str((root / "b.bin").resolve())]
