"""registry.hashing.oms against the real OpenSSF `model_signing` package (key-based signer, no network)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRun

from registry import errors
from registry.hashing.model import hash_model
from registry.hashing.oms import OmsSignature, compare

model_signing = pytest.importorskip("model_signing")


@pytest.fixture(scope="module")
def p256_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A freshly generated P-256 key pair in PEM, as `model_signing sign key` expects."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = tmp_path_factory.mktemp("oms-key")
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "key.pem", folder / "key.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def oms_sign(model: Path, signature: Path, key: Path, hash_type: str = "blake3", *, shards: bool = False) -> Path:
    hashing_config = model_signing.hashing.Config()
    if shards:
        hashing_config.use_shard_serialization(hashing_algorithm=hash_type)
    else:
        hashing_config.use_file_serialization(hashing_algorithm=hash_type)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(hashing_config).sign(
        model, signature
    )
    return signature


@pytest.fixture
def signed(model_dir: Path, tmp_path: Path, p256_key: tuple[Path, Path]) -> Path:
    """model_dir signed by OMS with blake3; the signature is written beside the folder."""
    signature = oms_sign(model_dir, tmp_path / "model.sig", p256_key[0])
    # a real signature: OMS's own verifier accepts it for this folder
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=p256_key[1]).verify(model_dir, signature)
    return signature


def test_reads_a_real_oms_signature_and_agrees_file_by_file(model_dir: Path, signed: Path) -> None:
    sig = OmsSignature.read(signed)
    assert sig.model_name == "model" and sig.hash_type == "blake3"
    assert ".git" in sig.ignore_paths
    md = hash_model(model_dir)
    assert {r.name: r.digest for r in sig.resources} == {f.path: f.digest.value for f in md.files}
    result = compare(sig, md, model_dir)
    assert result.agrees
    assert [(f.path, f.status) for f in result.files] == [(f.path, "match") for f in md.files]


@pytest.mark.parametrize("hash_type", ["sha256", "blake2b"])
def test_other_oms_algorithms_are_compared_by_reading_again(
    model_dir: Path, tmp_path: Path, p256_key: tuple[Path, Path], hash_type: str
) -> None:
    signature = oms_sign(model_dir, tmp_path / "model.sig", p256_key[0], hash_type.removesuffix("b"))
    sig = OmsSignature.read(signature)
    assert sig.hash_type == hash_type
    assert compare(sig, hash_model(model_dir), model_dir).agrees
    (model_dir / "config.json").write_text('{"hidden": 65}\n')
    result = compare(sig, hash_model(model_dir), model_dir)
    assert [f.path for f in result.files if f.status == "differs"] == ["config.json"]


def test_single_file_model(tmp_path: Path, p256_key: tuple[Path, Path]) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(os.urandom(50_000))
    sig = OmsSignature.read(oms_sign(model, tmp_path / "m.sig", p256_key[0]))
    assert [r.name for r in sig.resources] == ["."]
    result = compare(sig, hash_model(model), model)
    assert result.agrees and [f.path for f in result.files] == ["m.gguf"]


def test_changed_added_and_removed_files_are_reported(model_dir: Path, signed: Path) -> None:
    (model_dir / "config.json").write_text('{"hidden": 65}\n')
    (model_dir / "tokenizer.json").unlink()
    (model_dir / "extra.bin").write_bytes(b"new")
    result = compare(OmsSignature.read(signed), hash_model(model_dir), model_dir)
    assert not result.agrees
    assert {f.path: f.status for f in result.files} == {
        "config.json": "differs",
        "extra.bin": "unsigned",
        "tokenizer.json": "missing",
        "weights/model-00001.safetensors": "match",
        "weights/model-00002.safetensors": "match",
    }
    assert result.counts() == {"match": 2, "differs": 1, "missing": 1, "unsigned": 1}


def test_files_oms_ignores_are_named_in_the_hint(model_dir: Path, signed: Path, cli: CliRun) -> None:
    (model_dir / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    result = compare(OmsSignature.read(signed), hash_model(model_dir), model_dir)
    assert result.suggested_ignore == (".gitattributes",)
    proc = cli("hash", model_dir, "--compare-oms", signed)
    assert proc.returncode == 1
    assert "unsigned  .gitattributes" in proc.stdout
    assert "pass --ignore '.gitattributes'\n" in proc.stderr  # --ignore adds to the default rules
    again = cli("hash", model_dir, "--compare-oms", signed, "--ignore", ".gitattributes")
    assert again.returncode == 0, again.stderr


def test_cli_agreement_text_and_json(model_dir: Path, signed: Path, cli: CliRun) -> None:
    text = cli("hash", model_dir, "--compare-oms", signed, check=True).stdout
    assert "match     config.json" in text and "agrees with the OMS signature on all 4 files" in text
    report = json.loads(cli("hash", model_dir, "--compare-oms", signed, "--json", check=True).stdout)
    assert report["oms"]["agrees"] is True and report["oms"]["signatureVerified"] is False
    assert report["oms"]["counts"]["match"] == 4

    (model_dir / "weights" / "model-00001.safetensors").write_bytes(os.urandom(200_000))
    proc = cli("hash", model_dir, "--compare-oms", signed, "--json")
    assert proc.returncode == 1
    files = {f["path"]: f for f in json.loads(proc.stdout)["oms"]["files"]}
    changed = files["weights/model-00001.safetensors"]
    assert changed["status"] == "differs" and changed["modelseal"] != changed["oms"]
    text_proc = cli("hash", model_dir, "--compare-oms", signed)
    assert text_proc.returncode == 1
    assert "differs   weights/model-00001.safetensors" in text_proc.stdout
    assert text_proc.stderr.count("error:") == 1 and "1 differs" in text_proc.stderr


def _edit_payload(signature: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    bundle = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    edit(statement)
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signature.write_text(json.dumps(bundle))


def test_edited_resource_list_is_refused(signed: Path, cli: CliRun, model_dir: Path) -> None:
    def swap_digest(statement: dict[str, Any]) -> None:
        statement["predicate"]["resources"][0]["digest"] = "00" * 32

    _edit_payload(signed, swap_digest)
    with pytest.raises(errors.InputError, match="subject digest"):
        OmsSignature.read(signed)
    proc = cli("hash", model_dir, "--compare-oms", signed)
    assert proc.returncode == 2 and "edited after signing" in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "it is not valid JSON"),
        ('{"mediaType": "x"}', "dsseEnvelope"),
        ('{"dsseEnvelope": {"payloadType": "text/plain", "payload": ""}}', "payloadType"),
        ('{"dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": "!!"}}', "base64"),
    ],
)
def test_not_a_signature_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.sig"
    path.write_text(content)
    with pytest.raises(errors.InputError, match=message):
        OmsSignature.read(path)


def test_shard_serialization_is_refused(model_dir: Path, tmp_path: Path, p256_key: tuple[Path, Path]) -> None:
    signature = oms_sign(model_dir, tmp_path / "s.sig", p256_key[0], "sha256", shards=True)
    with pytest.raises(errors.InputError, match="shards"):
        OmsSignature.read(signature)


def test_missing_signature_file(cli: CliRun, model_dir: Path, tmp_path: Path) -> None:
    proc = cli("hash", model_dir, "--compare-oms", tmp_path / "nope.sig")
    assert proc.returncode == 2 and "no such OMS signature" in proc.stderr
