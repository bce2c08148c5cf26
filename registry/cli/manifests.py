"""``modelseal manifest create``, ``modelseal sign`` and ``modelseal verify-manifest``: the
signed description of a release, offline (no chain)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from registry.cli import console
from registry.cli.options import (
    ChainTarget,
    FollowOpt,
    IgnoreOpt,
    JsonOpt,
    KeyOpt,
    KeysDirOpt,
    NoDefaultIgnoreOpt,
    chain_options,
    hash_with_progress,
    keystore,
    model_location,
    print_json,
    read_manifest,
    write_atomic,
)
from registry.errors import ExitCode, InputError

if TYPE_CHECKING:
    from registry.signing.manifest import Manifest

manifest_app = typer.Typer(help="Write manifests (the signed description of a release).", no_args_is_help=True)


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
    no_default_ignore: NoDefaultIgnoreOpt = False,
    follow_symlinks: FollowOpt = False,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hash a model and write its unsigned manifest (sign it next with `modelseal sign`)."""
    from registry.hashing.model import hash_file, ignore_rules
    from registry.names import ReleaseName
    from registry.signing.manifest import Manifest

    release = ReleaseName(namespace, model, version)  # refuse bad names before hashing
    if key is not None:
        did = keystore(keystore_dir).load(key).did
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
    rules = ignore_rules(ignore, defaults=not no_default_ignore)
    md = hash_with_progress(model_location(path), rules, follow_symlinks, as_json)
    manifest = Manifest.create(
        release,
        did,
        md,
        license=license_,
        model_card=hash_file(model_card) if model_card else None,
        lineage=pairs or None,
        filing=filing,
    )
    write_atomic(out_path, manifest.to_json())
    if as_json:
        print_json({"manifest": str(out_path), "manifestDigest": manifest.digest.hex, "weights": md.weights.hex})
        return
    console.out.print(f"wrote {out_path} for {release} (publisher {did})")
    console.out.print(f"weights digest  {md.weights.hex}")
    console.out.print(f"manifest digest {manifest.digest.hex}")
    console.out.print(f"next: modelseal sign {out_path} --key {key or 'NAME'}")


def sign(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The manifest to sign.")],
    key: KeyOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the signed manifest here [default: in place].")
    ] = None,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add your eddsa-jcs-2022 (did:key) or EIP-712 (did:pkh) proof to a manifest's proof set."""
    from registry.signing.proofs import sign_manifest

    manifest = read_manifest(manifest_path)
    signing_key = keystore(keystore_dir).load(key)
    signed = sign_manifest(manifest, signing_key)
    target = output or manifest_path
    write_atomic(target, signed.to_json())
    if as_json:
        print_json({"manifest": str(target), "signer": signing_key.did, "manifestDigest": signed.digest.hex})
        return
    console.out.print(f"signed {target} as {signing_key.did}")
    console.out.print(f"manifest digest {signed.digest.hex} ({len(signed.proof or [])} proof(s))")


@chain_options
def verify_manifest_cmd(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The signed manifest.")],
    chain: ChainTarget,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Re-hash this model and compare it with the manifest.")
    ] = None,
    signer: Annotated[str | None, typer.Option(help="Also require a proof by this DID.")] = None,
    follow_symlinks: FollowOpt = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask the chain whether it is anchored or revoked.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check a manifest: format, every signature, (with --model) the model's bytes, and, when a
    chain answers, whether this manifest is the one anchored for its release and not revoked.

    Exit status 0 when everything verifies, 1 when a check fails, 2 for unreadable input, 11 when
    the chain says the release was revoked. It always says whether it consulted the chain.
    """
    from registry.errors import DigestMismatch
    from registry.signing.manifest import compare_model
    from registry.signing.proofs import verify_manifest

    manifest = read_manifest(manifest_path)
    results = verify_manifest(manifest, expected_signer=signer)
    problems: list[str] = []
    if model is not None:
        md = hash_with_progress(model_location(model), manifest.weights.ignore, follow_symlinks, as_json)  # its rules
        problems = compare_model(manifest, md)
    facts = {"consulted": False, "why": "--offline"} if offline else _chain_facts(chain, manifest)
    report: dict[str, Any] = {
        "verified": not problems,
        "release": str(manifest.release_name),
        "publisher": manifest.publisher,
        "manifestDigest": manifest.digest.hex,
        "weights": manifest.weights.digest,
        "proofs": [{"signer": r.signer, "kind": r.kind, "created": r.created} for r in results],
        "model": None if model is None else {"path": str(model), "matches": not problems, "differences": problems},
        "chain": facts,
    }
    revoked = bool(facts.get("revoked"))
    if facts.get("consulted") and not facts.get("anchored"):
        report["verified"] = False
    if as_json:
        print_json(report)
        if problems or not report["verified"]:
            raise typer.Exit(DigestMismatch.exit_code)
        if revoked:
            raise typer.Exit(ExitCode.REVOKED)
        return
    if problems:
        for line in problems:
            console.err.print(f"  {line}")
        raise DigestMismatch(
            f"{model} does not match the manifest of {manifest.release_name} ({len(problems)} difference(s))",
            hint="these are not the weights this manifest describes",
        )
    if facts.get("consulted") and not facts.get("anchored"):
        raise DigestMismatch(
            f"the signatures hold, but {facts['detail']}", hint="this is not the manifest the release anchors"
        )
    word = "[red]revoked[/]" if revoked else "[green]verified[/]"
    console.out.print(f"{word} {manifest.release_name}  manifest digest {manifest.digest.hex}")
    for r in results:
        console.out.print(f"  signature ok: {r.signer} ({r.kind}, {r.created})")
    if model is not None:
        console.out.print(f"  model ok: {model} has weights digest {manifest.weights.digest}")
    console.out.print(
        f"  chain: {facts['detail']}" if facts.get("consulted") else f"  chain not consulted ({facts['why']})"
    )
    if revoked:
        raise typer.Exit(ExitCode.REVOKED)


def _chain_facts(chain: ChainTarget, manifest: Manifest) -> dict[str, Any]:
    """Whether the chain anchors this manifest for its release, and revoked it - or why the chain
    could not be asked (verification of the document itself does not need it)."""
    from registry.errors import ModelsealError

    try:
        client = chain.client()
        info = client.release(manifest.release_name)
    except ModelsealError as exc:
        return {"consulted": False, "why": exc.message}
    where = f"chain {client.chain_id}, registry {client.address}"
    if info is None:
        return {"consulted": True, "anchored": False, "detail": f"{manifest.release_name} is not published on {where}"}
    if info.manifest_digest != manifest.digest.value:
        return {
            "consulted": True,
            "anchored": False,
            "detail": f"{manifest.release_name} anchors another manifest on {where}",
        }
    if info.revoked:
        detail = f"anchored on {where}, REVOKED: {info.revoke_reason or 'no reason given'}"
        return {"consulted": True, "anchored": True, "revoked": True, "detail": detail}
    return {"consulted": True, "anchored": True, "revoked": False, "detail": f"anchored on {where}, not revoked"}


@manifest_app.command(
    "upload",
    epilog="Example: MODELSEAL_VERIFIER_URL=https://verify.example modelseal manifest upload chat-1.0.0.manifest.json",
)
def manifest_upload(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The signed, anchored manifest.")],
    verifier: Annotated[
        str, typer.Option(envvar="MODELSEAL_VERIFIER_URL", help="The verifier service [env MODELSEAL_VERIFIER_URL].")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Give an anchored manifest to a verifier service, so that its filing, lineage and
    co-signatures appear there (the chain anchors only its digest)."""
    from registry.signing.store import upload_manifest

    answer = upload_manifest(verifier, read_manifest(manifest_path))
    if as_json:
        print_json(answer)
        return
    console.out.print(f"{verifier} now serves the manifest of {answer.get('release')} at {answer.get('url')}")
    ignored = answer.get("ignored")
    for item in ignored if isinstance(ignored, list) else []:
        console.err.print(f"  a proof was set aside: {item}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(manifest_app, name="manifest")
    app.command("sign", epilog="Example: modelseal sign chat-1.0.0.manifest.json --key publisher")(sign)
    app.command(
        "verify-manifest", epilog="Example: modelseal verify-manifest chat-1.0.0.manifest.json --model ./model"
    )(verify_manifest_cmd)
