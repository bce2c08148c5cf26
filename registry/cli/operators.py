"""``modelseal operator authorize|revoke``, ``modelseal serve`` and ``modelseal receipt verify``:
who may serve a release, serving it under that identity, and checking what it answered."""

from __future__ import annotations

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
    tx_json,
    tx_line,
)
from registry.errors import ExitCode, InputError
from registry.times import iso

operator_app = typer.Typer(help="Authorise and revoke operators (who may serve a model).", no_args_is_help=True)
receipt_app = typer.Typer(help="Check Model-Receipt headers you kept.", no_args_is_help=True)


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
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Authorise an operator key to serve a model or one release until the expiry (chain time)."""
    ns, model, version = parse_scope(scope)
    the_did = did_from(key, did, keystore_dir)
    client = chain.client()
    expires_at = parse_expiry(expires, client.now())
    tx = client.authorize_operator(ns, model, version, the_did, expires_at)
    if as_json:
        print_json({"scope": scope, "operator": the_did, "expiresAt": expires_at, **tx_json(tx)})
        return
    console.out.print(f"{the_did} may serve {scope} until {iso(expires_at)}")
    console.out.print(tx_line(tx))


@operator_app.command("revoke")
@chain_options
def operator_revoke(
    scope: Annotated[str, typer.Argument(help="namespace/model or namespace/model/version, as authorised.")],
    chain: ChainTarget,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore_dir: KeysDirOpt = None,
) -> None:
    """Withdraw an operator's authorisation."""
    ns, model, version = parse_scope(scope)
    the_did = did_from(key, did, keystore_dir)
    tx = chain.client().revoke_operator(ns, model, version, the_did)
    console.out.print(f"{the_did} may no longer serve {scope}")
    console.out.print(tx_line(tx))


@chain_options
def serve_cmd(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL.gguf", help="The GGUF weights to serve.")],
    release: Annotated[str, typer.Option(help="The release you serve: namespace/model/version.")],
    key: KeyOpt,
    chain: ChainTarget,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    threads: Annotated[int, typer.Option(help="CPU threads for llama.cpp.")] = 1,
    unsafe_dev: Annotated[
        bool,
        typer.Option("--unsafe-dev", help="Start even if the chain does not vouch for this deployment (demos/tests)."),
    ] = False,
    keystore_dir: KeysDirOpt = None,
) -> None:
    """Serve an OpenAI-compatible chat API (llama.cpp) that proves which registered release it runs.

    Refuses to start unless the release exists, is not revoked, has these weights, and the key is
    an authorised operator for it.
    """
    import uvicorn

    from registry.errors import NotAuthorised
    from registry.identity.serve import chat_app, preflight
    from registry.signing.keys import Ed25519Key

    operator = keystore(keystore_dir).load(key)
    if not isinstance(operator, Ed25519Key):
        raise InputError("an operator key must be an Ed25519 did:key", hint="modelseal keygen --name operator")
    client = chain.client()
    check = preflight(client, model_path, parse_release(release), operator)
    if check.problems and not unsafe_dev:
        raise NotAuthorised("; ".join(check.problems))
    for problem in check.problems:
        console.err.print(f"[bold red]WARNING (--unsafe-dev):[/] {problem}")
    app_ = chat_app(model_path, check.claim, operator, threads=threads)
    console.err.print(
        f"serving {release} as {operator.did} on http://{host}:{port}/v1 (identity at /.well-known/model-identity)"
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@receipt_app.command(
    "verify", epilog="Example: modelseal receipt verify --receipt receipt.txt --request req.json --response resp.json"
)
@chain_options
def receipt_verify(
    receipt: Annotated[str, typer.Option(help="The Model-Receipt header value, or @FILE holding it.")],
    request: Annotated[Path, typer.Option(help="The exact request body you sent.")],
    response: Annotated[Path, typer.Option(help="The exact response body you received (a stream: all of it).")],
    chain: ChainTarget,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only check the signature and hashes, not the chain.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Prove which registered release answered: the operator's signature over your exact request
    and response, then (unless --offline) the release and operator on chain."""
    from registry.identity.protocol import split_sse_receipt, verify_receipt

    header = Path(receipt[1:]).read_text().strip() if receipt.startswith("@") else receipt.strip()
    req, resp = request.read_bytes(), response.read_bytes()
    if header == "sse":
        resp, header = split_sse_receipt(resp)
    r = verify_receipt(header, req, resp)
    result: dict[str, Any] = {
        "release": str(r.release),
        "operator": r.operator,
        "time": iso(r.time),
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
        console.out.print(f"receipt signature valid: {r.release} answered, operator {r.operator}, at {result['time']}")
        if "chain" in result:
            c = result["chain"]
            console.out.print(
                f"on chain: released={c['released']} weights match={c['weightsMatch']} revoked={c['revoked']} "
                f"operator authorised now={c['operatorAuthorisedNow']}"
            )
    raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    app.add_typer(operator_app, name="operator")
    app.command(
        "serve",
        epilog="Example: modelseal serve model.gguf --release smollm/smollm2-135m-instruct/1.0.0 --key operator",
    )(serve_cmd)
    app.add_typer(receipt_app, name="receipt")
