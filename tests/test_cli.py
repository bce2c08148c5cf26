"""The modelseal CLI end to end, through the real entry point in a subprocess."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest
from conftest import CliRun


def _publish_flow(cli: CliRun, model: Path, tmp_path: Path) -> Path:
    cli("keygen", "--name", "pub", check=True)
    out = tmp_path / "m.json"
    cli(
        "manifest", "create", model, "--namespace", "acme", "--model", "chat", "--version", "1.0.0",
        "--key", "pub", "--license", "Apache-2.0", "-o", out, check=True,
    )  # fmt: skip
    cli("sign", out, "--key", "pub", check=True)
    return out


def test_keygen_prints_did_never_the_secret(cli: CliRun, tmp_path: Path) -> None:
    proc = cli("keygen", "--name", "pub", "--json", check=True)
    info = json.loads(proc.stdout)
    assert info["did"].startswith("did:key:z6Mk")
    secret = json.loads(Path(info["path"]).read_text())["privateKeyMultibase"]
    assert secret not in proc.stdout + proc.stderr
    assert os.stat(info["path"]).st_mode & 0o777 == 0o600
    listed = cli("keys", "--json", check=True)
    assert json.loads(listed.stdout) == [{"name": "pub", "did": info["did"]}]
    assert secret not in listed.stdout
    again = cli("keygen", "--name", "pub")
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    eth = json.loads(cli("keygen", "--name", "wallet", "--type", "ethereum", "--chain-id", "5", "--json").stdout)
    assert eth["did"].startswith("did:pkh:eip155:5:0x")


def test_hash_json_matches_library(cli: CliRun, model_dir: Path) -> None:
    from registry.hashing.model import hash_model

    data = json.loads(cli("hash", model_dir, "--json", check=True).stdout)
    md = hash_model(model_dir)
    assert data["weights"] == md.weights.hex
    assert data["files"] == [f.as_json() for f in md.files]
    text = cli("hash", model_dir, check=True).stdout
    assert f"weights {md.weights.hex}" in text


def test_publish_flow_verifies(cli: CliRun, model_dir: Path, tmp_path: Path) -> None:
    manifest = _publish_flow(cli, model_dir, tmp_path)
    proc = cli("verify-manifest", manifest, "--model", model_dir, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verified"] is True and report["release"] == "acme/chat/1.0.0"
    assert report["model"]["matches"] is True
    assert report["proofs"][0]["signer"] == report["publisher"]


def test_verify_manifest_catches_changed_model(cli: CliRun, model_dir: Path, tmp_path: Path) -> None:
    manifest = _publish_flow(cli, model_dir, tmp_path)
    (model_dir / "config.json").write_text('{"hidden": 99}\n')
    proc = cli("verify-manifest", manifest, "--model", model_dir)
    assert proc.returncode == 1
    assert "content differs: config.json" in proc.stderr
    assert proc.stderr.count("error:") == 1 and "hint:" in proc.stderr


def test_verify_manifest_catches_tampered_document(cli: CliRun, model_dir: Path, tmp_path: Path) -> None:
    manifest = _publish_flow(cli, model_dir, tmp_path)
    doc = json.loads(manifest.read_text())
    doc["license"] = "MIT"
    manifest.write_text(json.dumps(doc))
    proc = cli("verify-manifest", manifest)
    assert proc.returncode == 1
    assert "does not verify" in proc.stderr and "Traceback" not in proc.stderr


def test_errors_are_one_line_and_a_hint(cli: CliRun, tmp_path: Path, model_dir: Path) -> None:
    cases = [
        (("hash", tmp_path / "missing"), 2, "no such file or folder"),
        (("verify-manifest", tmp_path / "missing.json"), 2, "no such manifest"),
        (("sign", tmp_path / "missing.json", "--key", "nobody"), 2, "no such manifest"),
        (
            (
                "manifest",
                "create",
                model_dir,
                "--namespace",
                "Acme",
                "--model",
                "m",
                "--version",
                "1",
                "--publisher",
                "x",
            ),
            2,
            "namespace 'Acme'",
        ),
    ]
    for args, status, text in cases:
        proc = cli(*args)
        assert proc.returncode == status, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 2 and text in lines[0] and lines[1].startswith("hint: "), proc.stderr


def test_refused_inputs_each_get_their_own_message(cli: CliRun, model_dir: Path) -> None:
    os.symlink(model_dir / "config.json", model_dir / "link")
    assert "symbolic link refused" in cli("hash", model_dir).stderr
    os.unlink(model_dir / "link")
    (model_dir / unicodedata.normalize("NFD", "é.json")).write_text("{}")
    assert "NFC" in cli("hash", model_dir).stderr


def test_debug_env_shows_traceback(cli: CliRun, tmp_path: Path) -> None:
    env_debug = {**os.environ, "MODELSEAL_DEBUG": "1"}
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "registry", "hash", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=env_debug,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_help_has_examples(cli: CliRun) -> None:
    for cmd in (["hash"], ["manifest", "create"], ["sign"], ["verify-manifest"], ["keygen"]):
        proc = cli(*cmd, "--help")
        assert proc.returncode == 0 and "Example" in proc.stdout, cmd


def test_version_and_shell_completion_are_offered(cli: CliRun) -> None:
    from importlib.metadata import version

    from registry.chain.client import REGISTRY_VERSION

    shown = cli("--version", check=True).stdout
    assert shown.startswith(f"modelseal {version('modelseal')} ") and f"ModelRegistry {REGISTRY_VERSION}" in shown
    helped = cli("--help", check=True).stdout
    assert "--version" in helped and "--install-completion" in helped


@pytest.mark.parametrize("args", [("hash", "no-such-model", "--json"), ("verify-manifest", "no-such.json", "--json")])
def test_errors_are_json_on_stdout_when_json_was_asked(cli: CliRun, args: tuple[str, ...]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    error = json.loads(proc.stdout)["error"]
    assert error["exitCode"] == 2 and error["message"] and error["hint"] and error["type"]
    assert proc.stderr.startswith("error: ")  # people still read the one line and the hint
    plain = cli(*args[:-1])
    assert plain.stdout == "" and plain.returncode == 2


def test_a_sealed_key_needs_its_passphrase_and_never_waits_for_one(cli: CliRun, tmp_path: Path) -> None:
    right, wrong = {"MODELSEAL_PASSPHRASE": "correct horse"}, {"MODELSEAL_PASSPHRASE": "wrong"}
    made = json.loads(cli("keygen", "--name", "sealed", "--json", check=True, extra_env=right).stdout)
    assert made["sealed"] is True
    stored = json.loads(Path(made["path"]).read_text())
    assert "privateKeyMultibase" not in stored and stored["sealed"]["kdf"] == "scrypt"
    assert "(sealed)" in cli("keys").stdout  # listed without asking
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    manifest = tmp_path / "m.json"
    cli("manifest", "create", model, "--namespace", "acme", "--model", "m", "--version", "1",
        "--publisher", made["did"], "-o", manifest, check=True)  # fmt: skip
    locked = cli("sign", manifest, "--key", "sealed")  # no terminal, no MODELSEAL_PASSPHRASE: an error, at once
    assert locked.returncode == 2 and "MODELSEAL_PASSPHRASE" in locked.stderr
    refused = cli("sign", manifest, "--key", "sealed", extra_env=wrong)
    assert refused.returncode == 2 and "wrong passphrase" in refused.stderr
    cli("sign", manifest, "--key", "sealed", check=True, extra_env=right)
    assert "signature ok" in cli("verify-manifest", manifest, "--offline", check=True).stdout
    plain = json.loads(cli("keygen", "--name", "plain", "--json", check=True).stdout)  # no passphrase, no terminal
    assert plain["sealed"] is False


def test_a_model_is_named_by_its_hugging_face_id_from_the_local_cache(cli: CliRun, tmp_path: Path) -> None:
    import hashlib

    files = {"config.json": b'{"a": 1}\n', "model.safetensors": b"weights"}
    plain = tmp_path / "plain"
    plain.mkdir()
    cache = tmp_path / "hf" / "hub"
    repo = cache / "models--acme--Chat-7B"
    revision = "0123456789abcdef0123456789abcdef01234567"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for rel, data in files.items():
        (plain / rel).write_bytes(data)
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / rel).symlink_to(Path("..") / ".." / "blobs" / blob.name)
    env = {"HF_HUB_CACHE": str(cache)}
    expected = json.loads(cli("hash", plain, "--json", check=True).stdout)["weights"]
    for ref in ("hf:acme/Chat-7B", f"hf:acme/Chat-7B@{revision}"):
        assert json.loads(cli("hash", ref, "--json", check=True, extra_env=env).stdout)["weights"] == expected
    missing = cli("hash", "hf:acme/Other", extra_env=env)
    assert (
        missing.returncode == 2
        and "not in the Hugging Face cache" in missing.stderr
        and "hf download" in missing.stderr
    )


def test_every_command_has_json_and_help_with_an_example() -> None:
    """README's promise, checked on the command tree itself (plugins' commands included)."""
    import typer.main

    from registry.cli.app import app

    missing_json, missing_example = [], []

    def walk(command: object, path: str) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}".strip())
            return
        options = {o for p in getattr(command, "params", []) for o in getattr(p, "opts", [])}
        if "--json" not in options:
            missing_json.append(path)
        if "modelseal" not in (getattr(command, "epilog", None) or "") + (getattr(command, "help", None) or ""):
            missing_example.append(path)

    walk(typer.main.get_command(app), "")
    assert missing_json == [], missing_json
    assert missing_example == [], missing_example


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://a]b", "is not a URL"),
        ("http://host:port/", "is not a URL"),
        ("http://user:secret@chat.example/", "carries a user name or password"),
        ("ftp://chat.example/", "is not an http(s) URL"),
        ("https://" + "a" * 2100 + ".example", "too long"),
    ],
)
def test_check_refuses_a_url_it_cannot_contact_before_asking_the_chain(cli: CliRun, url: str, words: str) -> None:
    proc = cli("check", url, "--rpc-url", "http://127.0.0.1:9")  # no chain there: the URL is refused first
    assert proc.returncode == 2, proc.stderr
    first, hint = proc.stderr.strip().splitlines()[-2:]
    assert words in first and hint.startswith("hint: ") and "Traceback" not in proc.stderr
