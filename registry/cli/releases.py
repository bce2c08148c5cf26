"""``modelseal publish|revoke|show|verify|endorse``: releases on chain, for publishers, clients
and endorsers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from registry.cli import console
from registry.cli.options import (
    ChainTarget,
    FollowOpt,
    IgnoreOpt,
    JsonOpt,
    KeysDirOpt,
    NoDefaultIgnoreOpt,
    YesOpt,
    chain_options,
    confirm,
    keystore,
    model_location,
    parse_release,
    print_json,
    read_manifest,
    report_tx,
    tx_json,
    tx_line,
)
from registry.errors import ExitCode, InputError, PathRefused
from registry.times import iso

ReleaseArg = Annotated[str, typer.Argument(metavar="RELEASE", help="namespace/model/version")]


@chain_options
def publish(
    chain: ChainTarget,
    model_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="[MODEL_PATH]", help="The model file or folder (with --manifest: optional, its bytes are checked)."
        ),
    ] = None,
    manifest_file: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="Anchor this manifest, signed earlier (offline, with any co-signers): no signing key is needed "
            "here, only the namespace controller's account.",
        ),
    ] = None,
    namespace: Annotated[str | None, typer.Option(help="Your namespace.")] = None,
    model: Annotated[str | None, typer.Option(help="Model name ([a-z0-9._-]).")] = None,
    version: Annotated[str | None, typer.Option(help="Version (printable ASCII, no spaces).")] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", "-k", help="Key name in the keystore (see `modelseal keys`) or a key file path."),
    ] = None,
    license_: Annotated[str | None, typer.Option("--license", help="SPDX license id.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the signed manifest here.")] = None,
    ignore: IgnoreOpt = None,
    no_default_ignore: NoDefaultIgnoreOpt = False,
    follow_symlinks: FollowOpt = False,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Anchor a release. Either in one step - hash MODEL_PATH, write and sign its manifest with
    --key, check the key is a signer, anchor - or, with --manifest, anchor a manifest signed
    earlier (`manifest create`, `sign`: filings, lineage, co-signatures), after checking every
    proof and, given MODEL_PATH, the model's bytes."""
    from registry.chain.publish import publish_manifest, publish_model
    from registry.hashing.model import ignore_rules
    from registry.names import ReleaseName

    if output is not None and not output.parent.is_dir():  # refused before anything is sent
        raise PathRefused(f"cannot write {output}: folder {output.parent} does not exist", hint="create it first")
    if manifest_file is not None:
        given = [n for n, v in (("--namespace", namespace), ("--model", model), ("--version", version),
                                ("--key", key), ("--license", license_)) if v is not None]  # fmt: skip
        if given or ignore or no_default_ignore:
            raise InputError(
                f"{', '.join(given) or '--ignore'} cannot be used with --manifest: the manifest already says it",
                hint="modelseal publish --manifest FILE [MODEL_PATH]",
            )
        doc = read_manifest(manifest_file)
        model_path = model_location(model_path) if model_path is not None else None
        release = doc.release_name
        client = chain.client()
        result = publish_manifest(
            client, doc, home=chain.settings().home, model_path=model_path, follow_symlinks=follow_symlinks
        )
    else:
        missing = [n for n, v in (("MODEL_PATH", model_path), ("--namespace", namespace), ("--model", model),
                                  ("--version", version), ("--key", key)) if v is None]  # fmt: skip
        if missing:
            raise InputError(
                f"missing {', '.join(missing)}",
                hint="modelseal publish MODEL_PATH --namespace NS --model M --version V --key NAME, "
                "or modelseal publish --manifest SIGNED.manifest.json",
            )
        assert model_path is not None and namespace and model and version and key  # checked just above
        release = ReleaseName(namespace, model, version)
        model_path = model_location(model_path)
        signing_key = keystore(keystore_dir).load(key)
        client = chain.client()
        result = publish_model(
            client,
            signing_key,
            model_path,
            release,
            home=chain.settings().home,
            license=license_,
            ignore=ignore_rules(ignore, defaults=not no_default_ignore),
            follow_symlinks=follow_symlinks,
        )
    if output is not None:
        try:
            output.write_text(result.manifest.to_json())
        except OSError as exc:
            raise PathRefused(
                f"{release} is published, but writing {output} failed: {exc.strerror}",
                hint=f"the signed manifest is kept at {result.manifest_path}; copy it from there",
            ) from None
    if as_json:
        print_json(
            {
                "release": str(release),
                "releaseId": "0x" + result.release_id.hex(),
                "manifestDigest": result.manifest.digest.hex,
                "weightsDigest": result.manifest.weights.digest,
                "manifest": str(result.manifest_path),
                "alreadyPublished": result.tx is None,
                **(tx_json(result.tx) if result.tx is not None else {}),
            }
        )
        return
    console.out.print(f"{'already published' if result.tx is None else 'published'} {release}")
    console.out.print(f"release id      0x{result.release_id.hex()}")
    console.out.print(f"weights digest  {result.manifest.weights.digest}")
    console.out.print(f"manifest digest {result.manifest.digest.hex} (kept at {result.manifest_path})")
    if result.tx is not None:
        console.out.print(tx_line(result.tx))


@chain_options
def revoke(
    release: ReleaseArg,
    reason: Annotated[str, typer.Option(help="Why, for people reading the registry (printable ASCII, <= 256).")],
    chain: ChainTarget,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a release for good; verifiers will answer `revoked`. Asks first (--yes skips it)."""
    from registry.names import check_reason

    rel = parse_release(release)
    check_reason(reason)
    confirm(f"revoking {rel}", yes)
    tx = chain.client().revoke(rel, reason)
    report_tx(as_json, f"revoked {rel}: {reason}", {"release": str(rel), "revoked": True, "reason": reason}, tx)


@chain_options
def show(release: ReleaseArg, chain: ChainTarget, as_json: JsonOpt = False) -> None:
    """Show a release as the chain records it (exit 10 if it is not published)."""
    from registry.chain.verify import release_json

    rel = parse_release(release)
    client = chain.client()
    info = client.release(rel)
    if info is None:
        if as_json:
            print_json({"release": str(rel), "published": False})
        else:
            console.err.print(f"{rel} is not published on chain {client.chain_id} (registry {client.address})")
        raise typer.Exit(ExitCode.UNVERIFIED)
    ns = client.namespace(rel.namespace)
    _signers, grants = client.standing_grants(rel.namespace)
    covering = [g for g in grants if g.startswith((f"{rel.model_path}: ", f"{rel}: "))]
    endorsements = client.endorsements(rel)
    data: dict[str, Any] = {
        **release_json(info),
        "published": True,
        "controller": ns.controller if ns else None,
        "signer": client.signer_did_of(rel.namespace, info.signer_did_hash),
        "operators": covering,
        "endorsements": endorsements,
        "chainId": client.chain_id,
        "registry": client.address,
    }
    if as_json:
        print_json(data)
        return
    console.out.print(f"[bold]{info.name}[/]" + ("  [red]REVOKED[/]" if info.revoked else ""))
    keys = ("releaseId", "weightsDigest", "manifestDigest", "signer", "publisher", "controller", "publishedAt", "block")
    for k in (*keys, "tx"):
        console.out.print(f"  {k:15} {data[k]}")
    if info.revoked:
        console.out.print(f"  {'revokedAt':15} {data['revokedAt']}  reason: {info.revoke_reason}")
    for grant in covering:
        console.out.print(f"  {'operator':15} {grant}")
    for e in endorsements:
        state = "withdrawn" if e["revoked"] else iso(e["time"])
        console.out.print(f"  {'endorsement':15} {e['kind']} by {e['endorser']} ({state})")
    console.out.print(f"  (chain {client.chain_id}, registry {client.address})")


@chain_options
def verify(
    model_path: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL_PATH",
            help="The model file or folder you have, or hf:ORG/NAME[@REVISION] for one in the Hugging Face cache.",
        ),
    ],
    chain: ChainTarget,
    release: Annotated[str | None, typer.Option(help="The release it should be (namespace/model/version).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Its manifest (default: the one kept by `publish`).")] = None,
    ignore: IgnoreOpt = None,
    no_default_ignore: NoDefaultIgnoreOpt = False,
    follow_symlinks: FollowOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Which registered release is this model? Exit 0 verified, 1 mismatch, 10 not registered, 11 revoked."""
    from registry.chain.verify import verify_model
    from registry.hashing.model import ignore_rules

    model_path = model_location(model_path)
    doc = read_manifest(manifest) if manifest is not None else None
    if doc is not None and (ignore or no_default_ignore):
        raise InputError("--ignore cannot be used with --manifest: the manifest records its rules")
    client = chain.client()
    verdict, names, info = verify_model(
        client,
        model_path,
        release=parse_release(release) if release else None,
        manifest=doc,
        home=chain.settings().home,
        ignore=ignore_rules(ignore, defaults=not no_default_ignore),
        follow_symlinks=follow_symlinks,
        verifier_url=chain.settings().verifier_url,
    )
    if as_json:
        print_json({**verdict.as_json(), "releases": [str(n) for n in names]})
        raise typer.Exit(verdict.exit_status)
    colour = {"verified": "green", "mismatch": "red", "revoked": "red", "unverified": "yellow"}[verdict.verdict]
    what = verdict.release or "no registered release"
    console.out.print(f"[bold {colour}]{verdict.verdict}[/]  {model_path} -> {what}")
    if verdict.chain is not None:  # say which chain answered: a verdict against the wrong one misleads
        view = verdict.chain
        console.out.print(f"  asked chain {view.chain_id}, registry {view.registry}, at block {view.block}")
    for c in verdict.checks:
        mark = {"pass": "ok  ", "fail": "FAIL", "skip": "skip", "error": "ERR "}[c.status]
        console.out.print(f"  {mark} {c.name}: {c.detail}")
    if info is not None:
        console.out.print(f"  anchored by {info.publisher} at {iso(info.published_at)} (block {info.block})")
    raise typer.Exit(verdict.exit_status)


@chain_options
def endorse(
    release: ReleaseArg,
    kind: Annotated[str, typer.Option(help="What you attest, e.g. audit.passed, filing.submitted, filing.approved.")],
    chain: ChainTarget,
    data: Annotated[Path | None, typer.Option(help="A document backing it; its BLAKE3 is recorded.")] = None,
    revoke_it: Annotated[
        bool, typer.Option("--revoke", help="Withdraw your endorsement of this kind instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Endorse a release as the sending account (auditors, regulators, app stores)."""
    from registry.hashing.model import hash_file

    rel = parse_release(release)
    client = chain.client()
    if revoke_it:
        tx = client.revoke_endorsement(rel, kind)
        report_tx(
            as_json,
            f"withdrew {kind!r} endorsement of {rel}",
            {"release": str(rel), "kind": kind, "withdrawn": True},
            tx,
        )
    else:
        digest = hash_file(data).value if data is not None else b"\x00" * 32
        tx = client.endorse(rel, kind, digest)
        text = f"endorsed {rel} as {kind!r}" + (f" with {data} ({digest.hex()})" if data else "")
        report_tx(as_json, text, {"release": str(rel), "kind": kind, "dataDigest": digest.hex()}, tx)


EXAMPLES = {
    "publish": "modelseal publish ./model.gguf --namespace smollm --model chat --version 1.0.0 --key publisher",
    "revoke": "modelseal revoke smollm/chat/1.0.0 --reason 'weights leaked a test set'",
    "show": "modelseal show smollm/smollm2-135m-instruct/1.0.0",
    "verify": "modelseal verify ./SmolLM2-135M-Instruct.Q4_1.gguf",
    "endorse": "modelseal endorse smollm/chat/1.0.0 --kind filing.submitted --data filing.pdf",
}


def register(app: typer.Typer) -> None:
    for name, command in (
        ("publish", publish),
        ("revoke", revoke),
        ("show", show),
        ("verify", verify),
        ("endorse", endorse),
    ):
        app.command(name, epilog=f"Example: {EXAMPLES[name]}")(command)
