"""The ``modelseal`` command line: thin commands that parse, call the library and print.

Every command prints for people by default and JSON with ``--json``. Errors from the library
(:class:`registry.errors.ModelsealError`) become one line plus a hint on stderr and the error
family's exit status; ``MODELSEAL_DEBUG=1`` shows the traceback instead.

Exit status: 0 success or verified; 1 verification failed; 2 bad input or key problem (also
command-line usage errors); 3 chain unreachable.

Heavy libraries (web3, FastAPI) are imported inside the commands that need them, so
``modelseal --help`` and ``modelseal hash`` start fast.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from registry import console
from registry.errors import InputError, ModelsealError
from registry.hashcmd import HELP as HASH_HELP

if TYPE_CHECKING:
    from registry.hashing import ModelDigest
    from registry.keys import Keystore

app = typer.Typer(
    name="modelseal",
    help=(
        "Provenance for AI models: hash a release, sign its manifest with a DID key, anchor it "
        "on Ethereum, and verify models and chatbots against it.\n\n"
        "Example: modelseal keygen --name publisher && modelseal hash ./my-model"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
manifest_app = typer.Typer(help="Write manifests (the signed description of a release).", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")

# --- shared options ------------------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        help="Ignore rule (repeatable): 'name/' skips folders of that name, other rules are glob "
        "patterns on the path or file name. Replaces the default rules '.git/' and '.modelseal/'.",
    ),
]
FollowOpt = Annotated[
    bool, typer.Option("--follow-symlinks", help="Hash what symbolic links to files point to (refused by default).")
]
KeyOpt = Annotated[
    str, typer.Option("--key", "-k", help="Key name in the keystore (see `modelseal keys`) or a key file path.")
]
KeysDirOpt = Annotated[
    Path | None,
    typer.Option("--keystore", envvar="MODELSEAL_KEYS", help="Keystore folder [default: ~/.config/modelseal/keys]."),
]


def _keystore(root: Path | None) -> Keystore:
    from registry.keys import Keystore

    return Keystore(root)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _hash_with_progress(path: Path, ignore: list[str] | None, follow: bool, quiet: bool) -> ModelDigest:
    """Hash a model, reading every byte (never the hash cache: docs/hashing.md), with a progress
    bar by bytes for big models on a terminal."""
    from registry.hashcmd import hash_listed
    from registry.hashing import DEFAULT_IGNORE, model_digest, scan_model

    scan = scan_model(path, ignore=tuple(ignore) if ignore else DEFAULT_IGNORE, follow_symlinks=follow)
    entries, weights = hash_listed(scan, label=f"hashing {path.name}", quiet=quiet, cache=None)
    return model_digest(scan, entries, weights)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- keys ----------------------------------------------------------------------------------


@app.command(epilog="Example: modelseal keygen --name publisher")
def keygen(
    name: Annotated[str, typer.Option("--name", "-n", help="Name of the key in the keystore.")] = "default",
    key_type: Annotated[
        str, typer.Option("--type", "-t", help="ed25519 (a did:key) or ethereum (a did:pkh wallet key).")
    ] = "ed25519",
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id in a did:pkh (ethereum keys).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing key of that name.")] = False,
    keystore: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a signing key in the keystore and print its DID (never the private key)."""
    from registry.keys import Ed25519Key, EthereumKey, SigningKey

    key: SigningKey
    if key_type == "ed25519":
        key = Ed25519Key.generate()
    elif key_type == "ethereum":
        key = EthereumKey.generate(chain_id)
    else:
        raise InputError(f"unknown key type {key_type!r}", hint="use --type ed25519 or --type ethereum")
    path = _keystore(keystore).save(name, key, overwrite=force)
    if as_json:
        _print_json({"name": name, "did": key.did, "path": str(path)})
    else:
        console.out.print(f"created key [bold]{name}[/]: {key.did}")
        console.out.print(f"stored at {path} (mode 0600)")


@app.command("keys")
def keys_list(keystore: KeysDirOpt = None, as_json: JsonOpt = False) -> None:
    """List the keys in the keystore with their DIDs."""
    store = _keystore(keystore)
    rows = store.list()
    if as_json:
        _print_json([{"name": n, "did": d} for n, d in rows])
        return
    if not rows:
        console.out.print(f"no keys in {store.root}; create one with `modelseal keygen`")
    for name, did in rows:
        console.out.print(f"{name}\t{did}")


# --- hashing -------------------------------------------------------------------------------


NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Read every byte: neither use nor update the hash cache (docs/hashing.md)."),
]
CompareOmsOpt = Annotated[
    Path | None,
    typer.Option(
        "--compare-oms",
        metavar="SIGNATURE",
        help="An OpenSSF model_signing signature of this model (e.g. model.sig): show, file by file, whether "
        "it agrees with modelseal's hash; exit status 1 if not. The OMS signature itself is not verified.",
    ),
]


@app.command(
    "hash",
    help=HASH_HELP,
    epilog="Examples: modelseal hash ./SmolLM2-135M-Instruct.Q4_1.gguf --json  |  "
    "modelseal hash ./my-model --compare-oms model.sig",
)
def hash_cmd(
    path: Annotated[Path, typer.Argument(help="A model file or folder.")],
    as_json: JsonOpt = False,
    ignore: IgnoreOpt = None,
    follow_symlinks: FollowOpt = False,
    no_cache: NoCacheOpt = False,
    compare_oms: CompareOmsOpt = None,
) -> None:
    # `modelseal hash` normally runs without typer (registry.entry); this is the same command
    # for `--help`, usage errors and in-process callers.
    from registry import hashcmd

    code = hashcmd.run(
        str(path),
        as_json=as_json,
        ignore=ignore,
        follow_symlinks=follow_symlinks,
        no_cache=no_cache,
        compare_oms=str(compare_oms) if compare_oms is not None else None,
    )
    if code:
        raise typer.Exit(code)


# --- manifests -----------------------------------------------------------------------------


def _default_manifest_name(model: str, version: str) -> Path:
    return Path(f"{model}-{re.sub(r'[^A-Za-z0-9._-]', '_', version)}.manifest.json")


@manifest_app.command(
    "create",
    epilog="Example: modelseal manifest create ./model --namespace acme --model chat --version 1.0.0 --key publisher",
)
def manifest_create(
    path: Annotated[Path, typer.Argument(help="The model file or folder.")],
    namespace: Annotated[str, typer.Option(help="Your namespace, e.g. 'smollm' ([a-z0-9-]).")],
    model: Annotated[str, typer.Option(help="Model name ([a-z0-9._-]).")],
    version: Annotated[str, typer.Option(help="Version (printable ASCII, no spaces).")],
    key: Annotated[
        str | None, typer.Option("--key", "-k", help="Publisher key: its DID becomes the manifest's publisher.")
    ] = None,
    publisher: Annotated[str | None, typer.Option(help="Publisher DID, if the key is not at hand.")] = None,
    license_: Annotated[str | None, typer.Option("--license", help="SPDX license id, e.g. Apache-2.0.")] = None,
    model_card: Annotated[
        Path | None, typer.Option("--model-card", help="Model card file; its BLAKE3 is recorded.")
    ] = None,
    lineage: Annotated[
        list[str] | None,
        typer.Option(
            help="RELATION=OF (repeatable): fine-tune, quantization, distillation, merge or adapter "
            "of a weights digest or a release ns/model/version."
        ),
    ] = None,
    filing_jurisdiction: Annotated[str | None, typer.Option(help="Filing block: jurisdiction, e.g. CN.")] = None,
    filing_number: Annotated[str | None, typer.Option(help="Filing block: the regulator's filing number.")] = None,
    risk_assessment: Annotated[
        Path | None, typer.Option(help="Filing block: risk self-assessment file; its BLAKE3 is recorded.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write [default: MODEL-VERSION.manifest.json].")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file.")] = False,
    ignore: IgnoreOpt = None,
    follow_symlinks: FollowOpt = False,
    keystore: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hash a model and write its unsigned manifest (sign it next with `modelseal sign`)."""
    from registry.hashing import hash_file
    from registry.manifest import Manifest
    from registry.names import ReleaseName

    release = ReleaseName(namespace, model, version)  # refuse bad names before hashing
    if key is not None:
        did = _keystore(keystore).load(key).did
    elif publisher is not None:
        did = publisher
    else:
        raise InputError("no publisher given", hint="pass --key NAME (or --publisher DID)")
    out_path = output or _default_manifest_name(model, version)
    if out_path.exists() and not force:
        raise InputError(f"{out_path} already exists", hint="pass --force to overwrite it, or -o another path")
    pairs: list[tuple[str, str]] = []
    for item in lineage or []:
        rel, sep, of = item.partition("=")
        if not sep:
            raise InputError(f"lineage {item!r} is not RELATION=OF", hint="e.g. --lineage fine-tune=acme/base/1.0")
        pairs.append((rel, of))
    filing = None
    if filing_jurisdiction or filing_number or risk_assessment:
        if not (filing_jurisdiction and filing_number):
            raise InputError("a filing block needs both --filing-jurisdiction and --filing-number")
        filing = {"jurisdiction": filing_jurisdiction, "number": filing_number}
        if risk_assessment is not None:
            filing["riskAssessment"] = hash_file(risk_assessment).hex
    md = _hash_with_progress(path, ignore, follow_symlinks, as_json)
    manifest = Manifest.create(
        release,
        did,
        md,
        license=license_,
        model_card=hash_file(model_card) if model_card else None,
        lineage=pairs or None,
        filing=filing,
    )
    _write_atomic(out_path, manifest.to_json())
    if as_json:
        _print_json({"manifest": str(out_path), "manifestDigest": manifest.digest.hex, "weights": md.weights.hex})
        return
    console.out.print(f"wrote {out_path} for {release} (publisher {did})")
    console.out.print(f"weights digest  {md.weights.hex}")
    console.out.print(f"manifest digest {manifest.digest.hex}")
    console.out.print(f"next: modelseal sign {out_path} --key {key or 'NAME'}")


def _read_manifest(path: Path) -> Any:
    from registry.manifest import Manifest

    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"no such manifest: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from None
    return Manifest.from_json(text)


@app.command(epilog="Example: modelseal sign chat-1.0.0.manifest.json --key publisher")
def sign(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The manifest to sign.")],
    key: KeyOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the signed manifest here [default: in place].")
    ] = None,
    keystore: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add your eddsa-jcs-2022 (did:key) or EIP-712 (did:pkh) proof to a manifest's proof set."""
    from registry.proofs import sign_manifest

    manifest = _read_manifest(manifest_path)
    signing_key = _keystore(keystore).load(key)
    signed = sign_manifest(manifest, signing_key)
    target = output or manifest_path
    _write_atomic(target, signed.to_json())
    if as_json:
        _print_json({"manifest": str(target), "signer": signing_key.did, "manifestDigest": signed.digest.hex})
        return
    console.out.print(f"signed {target} as {signing_key.did}")
    console.out.print(f"manifest digest {signed.digest.hex} ({len(signed.proof or [])} proof(s))")


@app.command("verify-manifest", epilog="Example: modelseal verify-manifest chat-1.0.0.manifest.json --model ./model")
def verify_manifest_cmd(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The signed manifest.")],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Re-hash this model and compare it with the manifest.")
    ] = None,
    signer: Annotated[str | None, typer.Option(help="Also require a proof by this DID.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a manifest: format, every signature, and (with --model) the model's bytes.

    Exit status 0 when everything verifies, 1 when a check fails, 2 for unreadable input.
    """
    from registry.errors import DigestMismatch
    from registry.manifest import compare_model
    from registry.proofs import verify_manifest

    manifest = _read_manifest(manifest_path)
    results = verify_manifest(manifest, expected_signer=signer)
    problems: list[str] = []
    if model is not None:
        md = _hash_with_progress(model, list(manifest.weights.ignore) or None, False, as_json)
        problems = compare_model(manifest, md)
    report = {
        "verified": not problems,
        "release": str(manifest.release_name),
        "publisher": manifest.publisher,
        "manifestDigest": manifest.digest.hex,
        "weights": manifest.weights.digest,
        "proofs": [{"signer": r.signer, "kind": r.kind, "created": r.created} for r in results],
        "model": None if model is None else {"path": str(model), "matches": not problems, "differences": problems},
    }
    if as_json:
        _print_json(report)
        if problems:
            raise typer.Exit(DigestMismatch.exit_code)
        return
    if problems:
        for line in problems:
            console.err.print(f"  {line}")
        raise DigestMismatch(
            f"{model} does not match the manifest of {manifest.release_name} ({len(problems)} difference(s))",
            hint="these are not the weights this manifest describes",
        )
    console.out.print(f"[green]verified[/] {manifest.release_name}  manifest digest {manifest.digest.hex}")
    for r in results:
        console.out.print(f"  signature ok: {r.signer} ({r.kind}, {r.created})")
    if model is not None:
        console.out.print(f"  model ok: {model} has weights digest {manifest.weights.digest}")


# --- entry point ---------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point: run the app, turning ModelsealError into one line + hint."""
    debug = os.environ.get("MODELSEAL_DEBUG", "") not in ("", "0", "false")
    try:
        app(prog_name="modelseal")
    except ModelsealError as exc:
        if debug:
            raise
        console.report_error(exc)
        sys.exit(exc.exit_code)


# The on-chain commands live in their own module; importing it registers them on `app`.
from registry import cli_chain as _cli_chain  # noqa: E402, F401


def _load_plugins() -> None:
    """Commands of other packages (the verifier's), found through the ``modelseal.cli`` entry
    point, so this package never imports them by name."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="modelseal.cli"):
        ep.load()(app)


_load_plugins()

if __name__ == "__main__":
    main()
