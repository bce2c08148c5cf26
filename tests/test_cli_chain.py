"""The publisher life cycle through the real CLI, on a real anvil started by `modelseal chain up`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from registry.chain.client import ANVIL_DEV_KEYS, account_from_key
from registry.chain.devchain import free_port
from registry.errors import UnsafeAccount

REL = "smollm/smollm2-135m-instruct/1.0.0"
OPERATOR_DID = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


class Cli:
    def __init__(self, home: Path, keys: Path, port: int) -> None:
        self.home, self.keys, self.port = home, keys, port

    def __call__(self, *args: str | Path, account: int | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "MODELSEAL_HOME": str(self.home),
            "MODELSEAL_KEYS": str(self.keys),
            "MODELSEAL_RPC_URL": f"http://127.0.0.1:{self.port}",
        }
        env.pop("MODELSEAL_PRIVATE_KEY", None)
        env.pop("MODELSEAL_DEBUG", None)
        if account is not None:
            env["MODELSEAL_PRIVATE_KEY"] = "0x" + ANVIL_DEV_KEYS[account].hex()
        return subprocess.run(  # no terminal on stdin, as in CI: a command that asks must refuse, not wait
            [sys.executable, "-m", "registry", *map(str, args)],
            capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def ok(self, *args: str | Path, account: int | None = None) -> str:
        proc = self(*args, account=account)
        assert proc.returncode == 0, f"{args}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    root = tmp_path_factory.mktemp("cli-chain")
    runner = Cli(root / "home", root / "keys", free_port())
    up = json.loads(runner.ok("chain", "up", "--port", str(runner.port), "--json"))
    assert up["deployedNow"] is True and up["chainId"] == 31337
    yield runner
    runner("chain", "down", "--port", str(runner.port))


@pytest.fixture(scope="module")
def published(cli: Cli, smollm_model: Path) -> Path:
    cli.ok("keygen", "--name", "publisher")
    cli.ok("namespace", "claim", "smollm")
    cli.ok("signer", "add", "smollm", "--key", "publisher")
    out = json.loads(
        cli.ok(
            "publish",
            smollm_model,
            "--namespace",
            "smollm",
            "--model",
            "smollm2-135m-instruct",
            "--version",
            "1.0.0",
            "--key",
            "publisher",
            "--json",
        )
    )
    assert out["weightsDigest"] == "5f4fa13bfc6dd4a91fd00e22974a9c4e9ed628fd7d7f307398ddf30260d6b2c3"
    assert out["release"] == REL
    return smollm_model


def test_chain_status_and_restart_keeps_state(cli: Cli, published: Path) -> None:
    status = json.loads(cli.ok("chain", "status", "--json"))  # the port of MODELSEAL_RPC_URL, as every command
    assert status["running"] and status["registryHasCode"] and status["rpcUrl"].endswith(f":{cli.port}")
    cli.ok("chain", "down")
    assert cli("chain", "status", "--port", str(cli.port)).returncode == 3
    again = json.loads(cli.ok("chain", "up", "--port", str(cli.port), "--json"))
    assert again["deployedNow"] is False  # the state file brought the registry back
    assert json.loads(cli.ok("show", REL, "--json"))["published"] is True


def test_verify_says_which_release_then_unregistered_then_revoked(cli: Cli, published: Path, tmp_path: Path) -> None:
    proc = cli("verify", published, "--json")
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["verdict"] == "verified" and verdict["release"] == REL
    assert {c["name"]: c["status"] for c in verdict["checks"]} == {
        "registered": "pass",
        "not-revoked": "pass",
        "manifest": "pass",
        "signatures": "pass",
    }
    copy = tmp_path / "copy.gguf"
    shutil.copy(published, copy)
    with open(copy, "r+b") as fh:
        fh.seek(4_000_000)
        byte = fh.read(1)
        fh.seek(4_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    proc = cli("verify", copy)
    assert proc.returncode == 10 and "no release anchors these weights" in proc.stdout
    assert "asked chain 31337, registry 0x" in proc.stdout  # an unregistered answer names the chain it asked
    cli.ok(
        "publish",
        copy,
        "--namespace",
        "smollm",
        "--model",
        "smollm2-135m-instruct",
        "--version",
        "1.0.0-bad",
        "--key",
        "publisher",
    )
    unconfirmed = cli("revoke", "smollm/smollm2-135m-instruct/1.0.0-bad", "--reason", "corrupted upload")
    assert unconfirmed.returncode == 2 and "pass --yes" in unconfirmed.stderr  # no terminal: refuse, never hang
    cli.ok("revoke", "smollm/smollm2-135m-instruct/1.0.0-bad", "--reason", "corrupted upload", "--yes")
    proc = cli("verify", copy)
    assert proc.returncode == 11 and "revoked" in proc.stdout and "corrupted upload" in proc.stdout
    wrong = cli("verify", copy, "--release", REL)
    assert wrong.returncode == 1 and "these are not the weights of" in wrong.stdout


def test_copied_weights_are_never_attributed_to_whoever_anchored_them(cli: Cli, published: Path) -> None:
    """A squatter anchors the publisher's digests under a look-alike namespace, naming the
    publisher's key as its signer (adding a signer needs no proof). `verify` then never picks one
    of the two releases by itself, and the publisher's manifest never vouches for the copy."""
    from eth_account import Account
    from web3 import Web3

    from registry.chain.client import RegistryClient
    from registry.names import ReleaseName

    shown = json.loads(cli.ok("show", REL, "--json"))
    status = json.loads(cli.ok("chain", "status", "--port", str(cli.port), "--json"))
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{cli.port}"))
    squatter = RegistryClient(w3, status["registry"], account=Account.from_key(ANVIL_DEV_KEYS[7]))
    publisher_did = json.loads(cli.ok("keys", "--json"))[0]["did"]
    squatter.claim_namespace("smollm-official")
    squatter.add_signer("smollm-official", publisher_did)
    copy = ReleaseName("smollm-official", "smollm2-135m-instruct", "1.0.0")
    digest = bytes.fromhex(shown["manifestDigest"].removeprefix("0x"))
    squatter.publish(copy, digest, bytes.fromhex(shown["weightsDigest"].removeprefix("0x")), publisher_did)

    plain = cli("verify", published, "--json")
    verdict = json.loads(plain.stdout)
    assert plain.returncode == 10 and verdict["verdict"] == "unverified", plain.stdout
    assert verdict["release"] is None and "pass --release or --manifest" in verdict["checks"][0]["detail"]
    assert set(verdict["checks"][0]["evidence"]["releases"]) == {REL, str(copy)}
    named = json.loads(cli.ok("verify", published, "--release", REL, "--json"))
    assert named["verdict"] == "verified" and named["release"] == REL
    squatted = cli("verify", published, "--release", str(copy), "--json")
    assert squatted.returncode == 1, squatted.stdout  # the kept manifest names the real release
    manifest_check = next(c for c in json.loads(squatted.stdout)["checks"] if c["name"] == "manifest")
    assert manifest_check["status"] == "fail" and f"it is anchored as {copy}" in manifest_check["detail"]


def test_a_transfer_moves_control_and_lists_what_stays_valid(cli: Cli, published: Path) -> None:
    from eth_account import Account

    new_owner = Account.from_key(ANVIL_DEV_KEYS[3]).address
    cli.ok("namespace", "claim", "handover")
    cli.ok("signer", "add", "handover", "--did", OPERATOR_DID)
    unpublished = cli("operator", "authorize", "handover/chat", "--did", OPERATOR_DID)
    assert unpublished.returncode == 0 and "warning: nothing is published as handover/chat yet" in unpublished.stderr
    offered = json.loads(cli.ok("namespace", "transfer", "handover", new_owner, "--json"))
    assert offered["offeredTo"] == new_owner and offered["tx"].startswith("0x") and offered["from"] != new_owner
    accepted = cli.ok("namespace", "accept", "handover", account=3)
    assert "1 signing key(s), 1 operator grant(s)" in accepted
    assert f"signer   {OPERATOR_DID}" in accepted and f"operator handover/chat: {OPERATOR_DID}" in accepted
    refused = cli("signer", "add", "handover", "--did", OPERATOR_DID)  # the previous controller: no power left
    assert refused.returncode == 4, refused.stdout + refused.stderr
    shown = json.loads(cli.ok("namespace", "show", "handover", "--json"))
    assert shown["controller"] == new_owner and shown["signers"] == [OPERATOR_DID]
    assert shown["operators"] == [f"handover/chat: {OPERATOR_DID}"]
    assert "handover" in json.loads(cli.ok("namespace", "list", "--json"))["namespaces"]
    removed = json.loads(cli.ok("signer", "remove", "handover", "--did", OPERATOR_DID, "--yes", "--json", account=3))
    assert removed == {**removed, "namespace": "handover", "did": OPERATOR_DID, "signer": False, "from": new_owner}
    assert json.loads(cli.ok("signer", "list", "handover", "--json"))["signers"] == []
    assert cli("namespace", "show", "no-such-ns").returncode == 10
    cli.ok("operator", "revoke", "handover/chat", "--did", OPERATOR_DID, account=3)


def test_sign_offline_then_anchor_the_shipped_manifest(cli: Cli, published: Path, tmp_path: Path) -> None:
    """The manifest a publisher writes, co-signs and ships is the one anchored: `publish --manifest`
    needs no signing key, checks every proof and the model's bytes, and the file verifies."""
    cli.ok("keygen", "--name", "offline")
    cli.ok("keygen", "--name", "auditor")
    cli.ok("signer", "add", "smollm", "--key", "offline")
    shipped = tmp_path / "shipped.manifest.json"
    cli.ok(
        "manifest", "create", published, "--namespace", "smollm", "--model", "smollm2-135m-instruct",
        "--version", "2.0-offline", "--key", "offline", "--filing-jurisdiction", "CN",
        "--filing-number", "Beijing-Smol-2026-7", "-o", shipped,
    )  # fmt: skip
    cli.ok("sign", shipped, "--key", "offline")
    cli.ok("sign", shipped, "--key", "auditor")  # a co-signature rides along
    unsigned = tmp_path / "unsigned.manifest.json"
    cli.ok("manifest", "create", published, "--namespace", "smollm", "--model", "smollm2-135m-instruct",
           "--version", "2.1", "--key", "offline", "-o", unsigned)  # fmt: skip
    refused = cli("publish", "--manifest", unsigned)
    assert refused.returncode == 1 and "no proof" in refused.stderr, refused.stderr
    mixed = cli("publish", "--manifest", shipped, "--key", "offline")
    assert mixed.returncode == 2 and "cannot be used with --manifest" in mixed.stderr
    other = tmp_path / "other.bin"
    other.write_bytes(b"not these weights")
    wrong = cli("publish", "--manifest", shipped, other)
    assert wrong.returncode == 1 and "is not the model this manifest describes" in wrong.stderr
    out = json.loads(cli.ok("publish", "--manifest", shipped, published, "--json"))
    assert out["release"] == "smollm/smollm2-135m-instruct/2.0-offline" and out["alreadyPublished"] is False
    again = json.loads(cli.ok("publish", "--manifest", shipped, "--json"))
    assert again["alreadyPublished"] is True and again["manifestDigest"] == out["manifestDigest"]
    verdict = json.loads(cli.ok("verify", published, "--manifest", shipped, "--json"))
    assert verdict["verdict"] == "verified" and verdict["release"] == "smollm/smollm2-135m-instruct/2.0-offline"
    checked = json.loads(cli.ok("verify-manifest", shipped, "--json"))
    assert len(checked["proofs"]) == 2 and checked["chain"] == {**checked["chain"], "consulted": True, "anchored": True}
    offline = json.loads(cli.ok("verify-manifest", shipped, "--offline", "--json"))
    assert offline["chain"] == {"consulted": False, "why": "--offline"}
    cli.ok("revoke", "smollm/smollm2-135m-instruct/2.0-offline", "--reason", "superseded", "--yes")
    revoked = cli("verify-manifest", shipped)
    assert (
        revoked.returncode == 11 and revoked.stdout.startswith("revoked ") and "REVOKED: superseded" in revoked.stdout
    )
    cli.ok("sign", unsigned, "--key", "offline")  # signed, never anchored: the chain says so
    unanchored = cli("verify-manifest", unsigned)
    assert unanchored.returncode == 1 and "2.1 is not published on chain 31337" in unanchored.stderr


def test_a_hugging_face_cache_download_verifies(cli: Cli, published: Path, tmp_path: Path) -> None:
    """The released file as `hf download` leaves it in its cache (a snapshot link into blobs/), and
    as `hf download --local-dir` leaves it (with its .cache/huggingface/ metadata): both verify."""
    repo = tmp_path / "hub" / "models--smollm--smollm2-135m-instruct"
    (repo / "blobs").mkdir(parents=True)
    blob = repo / "blobs" / "7c1d9a"
    os.link(published, blob) if published.stat().st_dev == tmp_path.stat().st_dev else shutil.copy(published, blob)
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / published.name).symlink_to(Path("..") / ".." / "blobs" / blob.name)
    cached = json.loads(cli.ok("verify", snapshot / published.name, "--release", REL, "--json"))
    assert cached["verdict"] == "verified", cached
    local = tmp_path / "local"
    (local / ".cache" / "huggingface" / "download").mkdir(parents=True)
    (local / ".cache" / "huggingface" / "download" / f"{published.name}.metadata").write_text("abc\n")
    os.symlink(published.resolve(), local / published.name)  # the file itself, wherever it is
    proc = cli("verify", local / published.name, "--release", REL, "--json")
    assert proc.returncode == 2 and "symbolic link refused" in proc.stderr  # an ordinary link: asked for only
    followed = json.loads(cli.ok("verify", local / published.name, "--release", REL, "--follow-symlinks", "--json"))
    assert followed["verdict"] == "verified"


def test_a_tampered_copy_names_every_file_that_differs(
    cli: Cli, published: Path, model_dir: Path, tmp_path: Path
) -> None:
    cli.ok("publish", model_dir, "--namespace", "smollm", "--model", "folder", "--version", "1", "--key", "publisher")
    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    with open(copy / "weights" / "model-00001.safetensors", "r+b") as fh:  # one changed byte
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 1]))
    (copy / "config.json").rename(copy / "config.renamed.json")  # a renamed file
    (copy / "tokenizer.json").unlink()  # a missing one
    (copy / "extra.bin").write_bytes(b"added")  # an extra one
    proc = cli("verify", copy, "--release", "smollm/folder/1", "--json")
    assert proc.returncode == 1, proc.stderr
    weights = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "weights")
    assert len(weights["evidence"]["differences"]) == 5
    said = "\n".join(weights["evidence"]["differences"])
    for expected in (
        "content differs: weights/model-00001.safetensors",
        "missing: config.json",
        "missing: tokenizer.json",
        "not in manifest: config.renamed.json",
        "not in manifest: extra.bin",
    ):
        assert expected in said, (expected, said)
    assert "content differs: weights/model-00001.safetensors" in weights["detail"]
    for extra, says in (("NOTES.txt", "none looks like weights"), ("adapter.safetensors", "may be read by a model")):
        only_extra = tmp_path / f"extra-{extra}"
        shutil.copytree(model_dir, only_extra)
        (only_extra / extra).write_bytes(b"x")
        proc = cli("verify", only_extra, "--release", "smollm/folder/1", "--json")
        detail = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "weights")["detail"]
        assert proc.returncode == 1 and "only extra files" in detail and says in detail, detail


def test_publishing_a_version_again_is_idempotent_for_the_same_file_only(
    cli: Cli, published: Path, tmp_path: Path
) -> None:
    args = ("publish", "--namespace", "smollm", "--model", "smollm2-135m-instruct", "--version", "1.0.0",
            "--key", "publisher", "--json")  # fmt: skip
    again = json.loads(cli.ok(args[0], published, *args[1:]))
    assert again["alreadyPublished"] is True and "tx" not in again
    other = tmp_path / "other.gguf"
    other.write_bytes(b"not the registered weights")
    proc = cli(args[0], other, *args[1:])
    assert proc.returncode == 4 and "is already published" in proc.stderr and "Traceback" not in proc.stderr


def test_refusals_are_explained_in_words(cli: Cli, published: Path) -> None:
    cases = [
        (("publish", published, "--namespace", "smollm", "--model", "x", "--version", "2", "--key", "publisher"),
         2, "does not control namespace 'smollm'"),
        (("operator", "authorize", "smollm/smollm2-135m-instruct", "--did", OPERATOR_DID),
         3, "does not control namespace 'smollm'"),
        (("namespace", "claim", "Smollm"), None, "refuses the namespace 'Smollm'"),
        (("namespace", "claim", "sm\u043ellm"), None, "refuses the namespace"),  # Cyrillic o
        (("namespace", "claim", "smollm"), 4, "already owned by"),
        (("namespace", "claim", "smollm"), None, "you already control namespace 'smollm'"),  # not "ask its controller"
    ]  # fmt: skip
    for args, account, words in cases:
        proc = cli(*args, account=account)
        assert proc.returncode == 4, (args, proc.returncode, proc.stderr)
        first, hint = proc.stderr.strip().splitlines()[-2:]
        assert words in first and hint.startswith("hint: "), (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_claiming_a_lookalike_names_the_original_and_asks_first(cli: Cli, published: Path) -> None:
    proc = cli("namespace", "claim", "sm0llm", account=5)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "'sm0llm' could be mistaken for 'smollm', claimed earlier" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "hint: pass --yes"
    assert cli("namespace", "show", "sm0llm").returncode == 10  # nothing was sent
    claimed = json.loads(cli.ok("namespace", "claim", "sm0llm", "--yes", "--json", account=5))
    assert ("smollm", "ascii-lookalike") in [(c["namespace"], c["reason"]) for c in claimed["lookalikeOf"]]
    out = json.loads(cli.ok("namespace", "claim", "unrelated-name", "--json", account=5))  # no question asked
    assert out["lookalikeOf"] == []


def test_key_not_a_signer_is_refused_before_sending(cli: Cli, published: Path) -> None:
    cli.ok("keygen", "--name", "stranger")
    proc = cli("publish", published, "--namespace", "smollm", "--model", "m", "--version", "1", "--key", "stranger")
    assert proc.returncode == 4 and "is not an active signer" in proc.stderr


def test_operator_and_endorsement_commands(cli: Cli, published: Path, tmp_path: Path) -> None:
    cli.ok("keygen", "--name", "operator")
    proc = cli("operator", "authorize", REL, "--key", "operator", "--expires", "30d", "--json")
    assert proc.returncode == 0 and "warning" not in proc.stderr  # a published release: no warning
    assert json.loads(proc.stdout)["expiresAt"] > 0
    filing = tmp_path / "filing.txt"
    filing.write_text("filing 123")
    endorsed = cli.ok("endorse", REL, "--kind", "filing.submitted", "--data", filing, account=5)
    assert "endorsed" in endorsed and f"from {Account.from_key(ANVIL_DEV_KEYS[5]).address}" in endorsed
    shown = json.loads(cli.ok("show", REL, "--json"))
    regulator = Account.from_key(ANVIL_DEV_KEYS[5]).address
    assert shown["endorsements"] == [{**shown["endorsements"][0], "endorser": regulator, "kind": "filing.submitted",
                                      "revoked": False}]  # fmt: skip
    keystore = json.loads(cli.ok("keys", "--json"))
    assert any(g.startswith(f"{REL}: did:key:") for g in shown["operators"]), shown["operators"]
    assert shown["signer"] in {k["did"] for k in keystore} and shown["chainId"] == 31337
    assert "withdrew" in cli.ok("endorse", REL, "--kind", "filing.submitted", "--revoke", account=5)
    assert json.loads(cli.ok("show", REL, "--json"))["endorsements"][0]["revoked"] is True
    assert "may no longer serve" in cli.ok("operator", "revoke", REL, "--key", "operator")


def test_operator_authorisation_pinned_to_origins(cli: Cli, published: Path) -> None:
    pin = ("--origin", "https://Chat.Example.COM:443/v1", "--origin", "http://127.0.0.1:8081")
    out = json.loads(cli.ok("operator", "authorize", REL, "--did", OPERATOR_DID, *pin, "--json"))
    assert out["origins"] == ["https://chat.example.com", "http://127.0.0.1:8081"]  # canonical, as the chain keeps them
    from registry.chain.client import RegistryClient
    from registry.names import ReleaseName
    from registry.settings import Settings

    settings = Settings(home=cli.home, rpc_url=f"http://127.0.0.1:{cli.port}")
    client = RegistryClient.from_settings(settings)
    rel = ReleaseName.parse(REL)
    assert client.operator_origins(rel.namespace, rel.model, rel.version, OPERATOR_DID) == tuple(out["origins"])
    bad = cli("operator", "authorize", REL, "--did", OPERATOR_DID, "--origin", "ftp://chat.example.com")
    assert bad.returncode == 2 and "is not an http(s) URL" in bad.stderr and "Traceback" not in bad.stderr
    nine = [arg for i in range(9) for arg in ("--origin", f"https://c{i}.example")]
    assert cli("operator", "authorize", REL, "--did", OPERATOR_DID, *nine).returncode == 2
    cli.ok("operator", "authorize", REL, "--did", OPERATOR_DID)  # re-authorising unpins
    assert client.operator_origins(rel.namespace, rel.model, rel.version, OPERATOR_DID) == ()


def test_an_expiry_of_2_64_minus_1_is_sent_and_shown_and_one_past_it_refused(cli: Cli, published: Path) -> None:
    out = cli.ok("operator", "authorize", REL, "--did", OPERATOR_DID, "--expires", str(2**64 - 1))
    assert "until +584554051223-11-09T07:00:15Z" in out  # the year 584,554,051,223: no crash after mining
    refused = cli("operator", "authorize", REL, "--did", OPERATOR_DID, "--expires", str(2**64))
    assert refused.returncode == 2 and "outside what the chain records" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_anvil_dev_keys_refused_outside_dev_chains() -> None:
    with pytest.raises(UnsafeAccount, match="not a dev chain"):
        account_from_key(ANVIL_DEV_KEYS[0], 1)
    assert account_from_key(ANVIL_DEV_KEYS[0], 31337).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_chain_up_on_a_busy_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:  # a program that listens but speaks no JSON-RPC
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = Cli(tmp_path / "home", tmp_path / "keys", port)("chain", "up", "--port", str(port))
    assert proc.returncode == 3, proc.stderr
    assert f"port {port} is already in use" in proc.stderr and "--port" in proc.stderr
