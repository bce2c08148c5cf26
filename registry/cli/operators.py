"""``modelseal operator authorize|revoke``, ``modelseal serve`` and ``modelseal receipt verify``:
who may serve a release, serving it under that identity, and checking what it answered."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from registry.cli import console
from registry.cli.options import (
    ChainTarget,
    DidOpt,
    JsonOpt,
    KeyOpt,
    KeysDirOpt,
    SignerKeyOpt,
    chain_options,
    did_from,
    keystore,
    parse_expiry,
    parse_release,
    parse_scope,
    print_json,
    report_tx,
    tx_json,
    tx_line,
)
from registry.errors import ExitCode, InputError, ModelsealError
from registry.times import iso

operator_app = typer.Typer(help="Authorise and revoke operators (who may serve a model).", no_args_is_help=True)
receipt_app = typer.Typer(help="Check Model-Receipt headers you kept.", no_args_is_help=True)

KEPT_BODY_LIMIT = 16 * 1024 * 1024
"""Largest kept request or response body `receipt verify` reads (16 MiB)."""


@operator_app.command(
    "authorize", epilog="Example: modelseal operator authorize smollm/chat/1.0.0 --key operator --expires 90d"
)
@chain_options
def operator_authorize(
    scope: Annotated[str, typer.Argument(help="namespace/model (every version) or namespace/model/version.")],
    chain: ChainTarget,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    expires: Annotated[str, typer.Option(help="Duration (90d, 12h), date (2027-01-31) or unix seconds.")] = "90d",
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--origin",
            help="Pin the authorisation to this address (repeatable, at most 8), e.g. https://chat.example.com: "
            "verifiers then accept the key nowhere else, so a stolen key is useless at another address.",
        ),
    ] = None,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Authorise an operator key to serve a model or one release until the expiry (chain time),
    optionally only at the given origins. Re-authorising replaces the expiry and the origins."""
    from registry.identity.protocol import check_origins, origin_of

    ns, model, version = parse_scope(scope)
    the_did = did_from(key, did, keystore_dir)
    origins = check_origins([origin_of(o) for o in origin]) if origin else ()
    client = chain.client()
    expires_at = parse_expiry(expires, client.now())
    tx = client.authorize_operator(ns, model, version, the_did, expires_at, origins)
    if not client.has_release(ns, model, version):  # a typo in the name would otherwise pass unnoticed
        console.err.print(
            f"warning: nothing is published as {scope} yet; the grant covers what is published under that "
            "name later (check the spelling)",
            markup=False,
        )
    if as_json:
        print_json(
            {"scope": scope, "operator": the_did, "expiresAt": expires_at, "origins": list(origins), **tx_json(tx)}
        )
        return
    where = f" at {', '.join(origins)} only" if origins else " (at any origin its key signs for)"
    console.out.print(f"{the_did} may serve {scope} until {iso(expires_at)}{where}")
    console.out.print(tx_line(tx))


@operator_app.command("revoke", epilog="Example: modelseal operator revoke acme/chat --key operator")
@chain_options
def operator_revoke(
    scope: Annotated[str, typer.Argument(help="namespace/model or namespace/model/version, as authorised.")],
    chain: ChainTarget,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Withdraw an operator's authorisation."""
    ns, model, version = parse_scope(scope)
    the_did = did_from(key, did, keystore_dir)
    tx = chain.client().revoke_operator(ns, model, version, the_did)
    report_tx(
        as_json, f"{the_did} may no longer serve {scope}", {"scope": scope, "operator": the_did, "revoked": True}, tx
    )


@chain_options
def serve_cmd(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL.gguf", help="The GGUF weights to serve.")],
    release: Annotated[str, typer.Option(help="The release you serve: namespace/model/version.")],
    key: KeyOpt,
    chain: ChainTarget,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    public_url: Annotated[
        list[str] | None,
        typer.Option(
            "--public-url",
            help="An address clients reach this chatbot at (repeatable), e.g. https://chat.example.com behind "
            "a reverse proxy or CDN. The operator signs identity challenges only for these origins "
            "[default: the listen address http://HOST:PORT].",
        ),
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for llama.cpp.")] = 1,
    unsafe_dev: Annotated[
        bool,
        typer.Option("--unsafe-dev", help="Start even if the chain does not vouch for this deployment (demos/tests)."),
    ] = False,
    keystore_dir: KeysDirOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Say what is served as one JSON object on stdout when it starts.")
    ] = False,
) -> None:
    """Serve an OpenAI-compatible chat API (llama.cpp) that proves which registered release it runs.

    Refuses to start unless the release exists, is not revoked, has these weights, and the key is
    an authorised operator for it.
    """
    import uvicorn

    from registry.identity.serve import chat_app, preflight
    from registry.signing.keys import Ed25519Key

    operator = keystore(keystore_dir).load(key)
    if not isinstance(operator, Ed25519Key):
        raise InputError("an operator key must be an Ed25519 did:key", hint="modelseal keygen --name operator")
    origins = _served_origins(public_url, host, port)
    client = chain.client()
    check = preflight(client, model_path, parse_release(release), operator, origins)
    if check.problems and not unsafe_dev:
        raise _refusal(check.problems, release)
    for problem in check.problems:
        console.err.print(f"[bold red]WARNING (--unsafe-dev):[/] {problem}")
    app_ = chat_app(model_path, check.claim, operator, threads=threads)
    if as_json:
        print_json(
            {"url": f"http://{host}:{port}/v1", "release": release, "operator": operator.did,
             "origins": list(check.claim.origins), "weightsDigest": check.claim.weights_digest,
             "problems": list(check.problems)}
        )  # fmt: skip
        sys.stdout.flush()
    console.err.print(
        f"serving {release} as {operator.did} on http://{host}:{port}/v1 (identity at /.well-known/model-identity)"
    )
    console.err.print(f"identity challenges are signed only for: {', '.join(check.claim.origins)}")
    if not public_url:
        console.err.print(
            "(only the listen address: clients reaching this chatbot under another name - a domain, a reverse "
            "proxy, a CDN - are told it is not served there; add --public-url for each such address)"
        )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


def _age(seconds: int) -> str:
    if seconds < 0:
        return f"{-seconds} s in the future by this machine's clock"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _served_origins(public_url: list[str] | None, host: str, port: int) -> tuple[str, ...]:
    """The origins a served chatbot signs for: the --public-url values, or its listen address."""
    from registry.identity.protocol import check_origins, origin_of

    if public_url:
        return check_origins([origin_of(u) for u in public_url])
    if host in ("0.0.0.0", "::", ""):
        raise InputError(
            f"listening on {host or 'every interface'} names no address clients use",
            hint="pass --public-url with the address clients reach this chatbot at (repeatable)",
        )
    bracketed = f"[{host}]" if ":" in host else host
    return (origin_of(f"http://{bracketed}:{port}"),)


@receipt_app.command(
    "verify",
    epilog="Examples: keep the headers and the body of an answer with "
    "`curl -sD headers.txt -o resp.json -H 'content-type: application/json' --data-binary @req.json "
    "URL/v1/chat/completions`, then: modelseal receipt verify --receipt @headers.txt --request req.json "
    "--response resp.json  |  a streamed answer (its receipt is the stream's last event): "
    "modelseal receipt verify --request req.json --response stream.txt --offline",
)
@chain_options
def receipt_verify(
    request: Annotated[Path, typer.Option(help="The exact request body you sent.")],
    response: Annotated[Path, typer.Option(help="The exact response body you received (a stream: all of it).")],
    chain: ChainTarget,
    receipt: Annotated[
        str | None,
        typer.Option(
            help="The Model-Receipt header value, or @FILE holding it (the value alone, or saved headers "
            "with a 'Model-Receipt:' line). Omit it, or give 'sse', for a streamed answer: the receipt is "
            "then read from the stream's last 'event: model-receipt'."
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only check the signature and hashes, not the chain.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Prove which registered release answered: the operator's signature over your exact request
    and response, then (unless --offline) the release and operator on chain. Shows the receipt's
    age. A receipt proves which release answered, not at which address: a reseller passing the
    operator's receipts through unchanged keeps them verifiable here."""
    from registry.files import read_limited
    from registry.identity.protocol import receipt_value, split_sse_receipt, verify_receipt

    if receipt is None:
        header = "sse"
    elif receipt.startswith("@"):
        header = receipt_value(read_limited(receipt[1:], 64 * 1024, what="receipt file").decode("latin-1"))
    else:
        header = receipt_value(receipt)
    req = read_limited(request, KEPT_BODY_LIMIT, what="request file")
    resp = read_limited(response, KEPT_BODY_LIMIT, what="response file")
    if header == "sse":
        resp, header = split_sse_receipt(resp)
    r = verify_receipt(header, req, resp)
    age = int(time.time()) - r.time
    result: dict[str, Any] = {
        "release": str(r.release),
        "operator": r.operator,
        "time": iso(r.time),
        "ageSeconds": age,
        "weightsDigest": r.weights_digest,
        "signature": "valid",
    }
    status = ExitCode.OK
    if not offline:
        client = chain.client()
        info = client.release(r.release)
        authorised = client.is_operator_authorized(r.release, r.operator)
        result["chain"] = {
            "released": info is not None,
            "weightsMatch": info is not None and info.weights_digest.hex() == r.weights_digest,
            "revoked": bool(info and info.revoked),
            "operatorAuthorisedNow": authorised,
        }
        if info is None or info.weights_digest.hex() != r.weights_digest:
            status = ExitCode.FAILED
        elif info.revoked:
            status = ExitCode.REVOKED
    if as_json:
        print_json(result)
    else:
        console.out.print(
            f"receipt signature valid: {r.release} answered, operator {r.operator}, at {result['time']} ({_age(age)})"
        )
        if "chain" in result:
            c = result["chain"]
            console.out.print(
                f"on chain: released={c['released']} weights match={c['weightsMatch']} revoked={c['revoked']} "
                f"operator authorised now={c['operatorAuthorisedNow']}"
            )
    raise typer.Exit(status)


def _refusal(problems: tuple[str, ...], release: str) -> ModelsealError:
    """Why `serve` will not start, with the hint for the first thing to fix (the weights before
    the authorisation: authorising an operator does not make a wrong file right)."""
    from registry.errors import DigestMismatch, NotAuthorised, RegistryRefused

    said = "; ".join(problems)
    if any(" is not the weights of " in p for p in problems):
        return DigestMismatch(said, hint=f"serve the file that was released: modelseal verify FILE --release {release}")
    if any(" is not published on chain " in p for p in problems):
        return RegistryRefused(said, hint="check --release and the chain (--rpc-url), or publish the release first")
    if any(" was revoked: " in p for p in problems):
        return RegistryRefused(said, hint="a revoked release may not be served; serve a current one")
    return NotAuthorised(said)


def register(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")
    app.command(
        "serve",
        epilog="Example: modelseal serve model.gguf --release smollm/smollm2-135m-instruct/1.0.0 --key operator",
    )(serve_cmd)
    app.add_typer(receipt_app, name="receipt")
