"""The on-chain half of the ``modelseal`` CLI: dev chain, namespaces, signers, releases,
operators, endorsements, and ``verify``.

Thin commands over :mod:`registry.chain`, :mod:`registry.devchain`, :mod:`registry.publish` and
:mod:`registry.verify`. They are registered on :data:`registry.cli.app` when that module loads.
``--rpc-url``, ``--registry`` and ``--chain-id`` (or ``MODELSEAL_RPC_URL``, ``MODELSEAL_REGISTRY``,
``MODELSEAL_CHAIN_ID``) point them at any EVM JSON-RPC; the sending account is
``MODELSEAL_PRIVATE_KEY`` (anvil's first account on the local dev chain when unset).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from registry import console
from registry.cli import (
    FollowOpt,
    IgnoreOpt,
    JsonOpt,
    KeyOpt,
    KeysDirOpt,
    _keystore,
    _print_json,
    _read_manifest,
    app,
)
from registry.errors import InputError

if TYPE_CHECKING:
    from registry.chain import RegistryClient, TxResult

chain_app = typer.Typer(help="Start, stop and inspect the local dev chain (anvil).", no_args_is_help=True)
namespace_app = typer.Typer(help="Claim and transfer namespaces.", no_args_is_help=True)
signer_app = typer.Typer(help="Add and remove the keys that sign a namespace's releases.", no_args_is_help=True)
operator_app = typer.Typer(help="Authorise and revoke operators (who may serve a model).", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(namespace_app, name="namespace")
app.add_typer(signer_app, name="signer")
app.add_typer(operator_app, name="operator")

RpcOpt = Annotated[
    str | None, typer.Option("--rpc-url", help="JSON-RPC URL [env MODELSEAL_RPC_URL; default the dev chain].")
]
RegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", help="Registry address [env MODELSEAL_REGISTRY; default: deployments record]."),
]
ChainIdOpt = Annotated[int | None, typer.Option("--chain-id", help="Refuse to run unless the RPC serves this chain.")]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data folder [env MODELSEAL_HOME; default ./.modelseal].")]


def _settings(home: Path | None = None) -> Any:
    from registry.settings import Settings

    settings = Settings()
    if home is not None:
        settings.home = home
    return settings


def _client(
    rpc_url: str | None, registry: str | None, chain_id: int | None, home: Path | None = None
) -> RegistryClient:
    from registry.chain import RegistryClient

    return RegistryClient.from_settings(_settings(home), rpc_url=rpc_url, registry=registry, chain_id=chain_id)


def _tx_line(tx: TxResult) -> str:
    return f"tx {tx.tx_hash} in block {tx.block} ({tx.gas_used} gas)"


def _tx_json(tx: TxResult) -> dict[str, Any]:
    return {"tx": tx.tx_hash, "block": tx.block, "gasUsed": tx.gas_used}


def _did_from(key: str | None, did: str | None, keystore: Path | None) -> str:
    if (key is None) == (did is None):
        raise InputError("give exactly one of --key NAME or --did DID")
    if did is not None:
        from registry.keys import did_method

        did_method(did)
        return did
    assert key is not None
    return _keystore(keystore).load(key).did


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(text: str, now: int) -> int:
    """``90d``, ``12h``, ``30m``, an ISO date/time (UTC) or unix seconds -> unix seconds."""
    m = re.fullmatch(r"(\d+)([smhdw])", text)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return now + int(m.group(1)) * unit
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"cannot read expiry {text!r}",
            hint="use a duration like 90d or 12h, a date like 2027-01-31, or unix seconds",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _parse_scope(text: str) -> tuple[str, str, str | None]:
    """``ns/model`` (all versions) or ``ns/model/version`` (one release)."""
    from registry.names import ReleaseName, check_model, check_namespace

    parts = text.split("/", 2)
    if len(parts) == 2:
        return check_namespace(parts[0]), check_model(parts[1]), None
    if len(parts) == 3:
        r = ReleaseName(*parts)
        return r.namespace, r.model, r.version
    raise InputError(f"scope {text!r} is neither namespace/model nor namespace/model/version")


def _release(text: str) -> Any:
    from registry.names import ReleaseName

    return ReleaseName.parse(text)


# --- chain ---------------------------------------------------------------------------------


@chain_app.command("up", epilog="Example: modelseal chain up && modelseal chain status")
def chain_up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8545, home: HomeOpt = None, as_json: JsonOpt = False
) -> None:
    """Start anvil on 127.0.0.1 (state kept in the data folder) and deploy the registry once."""
    from registry.chain import ANVIL_DEV_KEYS
    from registry.devchain import DevChain, ensure_registry, start

    chain = DevChain(_settings(home).home, port)
    pid = start(chain)
    deployment, fresh = ensure_registry(chain, "0x" + ANVIL_DEV_KEYS[0].hex())
    if as_json:
        _print_json({"rpcUrl": chain.rpc_url, "pid": pid, "deployedNow": fresh, **deployment.as_json()})
        return
    console.out.print(f"dev chain {deployment.chain_id} at {chain.rpc_url} (pid {pid}, state {chain.state_file})")
    verb = "deployed" if fresh else "found"
    console.out.print(
        f"registry {verb} at {deployment.address} (block {deployment.block}, version {deployment.version})"
    )


@chain_app.command("down")
def chain_down(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8545, home: HomeOpt = None) -> None:
    """Stop the dev chain cleanly (its state is saved and comes back with `chain up`)."""
    from registry.devchain import DevChain, stop

    chain = DevChain(_settings(home).home, port)
    console.out.print("dev chain stopped" if stop(chain) else "dev chain was not running")


@chain_app.command("status")
def chain_status(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8545, home: HomeOpt = None, as_json: JsonOpt = False
) -> None:
    """Say whether the dev chain runs, its head block, and where the registry is."""
    from registry.artifacts import load_deployment
    from registry.devchain import DEV_CHAIN_ID, DevChain

    settings = _settings(home)
    chain = DevChain(settings.home, port)
    chain_id = chain.rpc_chain_id()
    deployment = load_deployment(settings.home, DEV_CHAIN_ID)
    status: dict[str, Any] = {"running": chain_id is not None, "rpcUrl": chain.rpc_url, "pid": chain.pid()}
    if chain_id is not None:
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
        status["chainId"] = chain_id
        status["block"] = w3.eth.block_number
        if deployment is not None:
            status["registry"] = deployment.address
            status["registryHasCode"] = bool(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    if as_json:
        _print_json(status)
    elif chain_id is None:
        console.out.print(f"dev chain not running (start it: modelseal chain up) - state file {chain.state_file}")
    else:
        console.out.print(f"dev chain {chain_id} at {chain.rpc_url}, head block {status['block']}")
        if deployment is not None:
            ok = "" if status.get("registryHasCode") else " - NO CODE (run `modelseal chain up` to redeploy)"
            console.out.print(f"registry {deployment.address}{ok}")
    if chain_id is None:
        raise typer.Exit(3)


# --- namespaces ----------------------------------------------------------------------------


@namespace_app.command("claim", epilog="Example: modelseal namespace claim smollm")
def namespace_claim(
    name: Annotated[str, typer.Argument(help="Namespace: [a-z0-9-], 2-64, no leading/trailing/double hyphen.")],
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Claim a namespace: the sending account becomes its controller."""
    client = _client(rpc_url, registry, chain_id)
    tx = client.claim_namespace(name)
    if as_json:
        _print_json(
            {"namespace": name, "controller": client.account.address if client.account else None, **_tx_json(tx)}
        )
        return
    console.out.print(f"claimed namespace {name!r}; controller {client.account.address if client.account else '?'}")
    console.out.print(_tx_line(tx))


@namespace_app.command("transfer")
def namespace_transfer(
    name: str,
    new_controller: Annotated[str, typer.Argument(help="Address that must then run `namespace accept`.")],
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Offer a namespace to another account (two steps: it must accept)."""
    tx = _client(rpc_url, registry, chain_id).transfer_namespace(name, new_controller)
    console.out.print(f"offered {name!r} to {new_controller}; it must run: modelseal namespace accept {name}")
    console.out.print(_tx_line(tx))


@namespace_app.command("accept")
def namespace_accept(
    name: str, rpc_url: RpcOpt = None, registry: RegistryOpt = None, chain_id: ChainIdOpt = None
) -> None:
    """Accept a namespace offered to the sending account."""
    client = _client(rpc_url, registry, chain_id)
    tx = client.accept_namespace(name)
    console.out.print(f"{client.account.address if client.account else '?'} now controls {name!r}")
    console.out.print(_tx_line(tx))


# --- signers -------------------------------------------------------------------------------

SignerKeyOpt = Annotated[str | None, typer.Option("--key", "-k", help="Key name in the keystore (its DID is used).")]
DidOpt = Annotated[str | None, typer.Option("--did", help="The DID itself, if the key is elsewhere.")]


@signer_app.command("add", epilog="Example: modelseal signer add smollm --key publisher")
def signer_add(
    namespace: str,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Let a key sign releases of the namespace, from now on."""
    the_did = _did_from(key, did, keystore)
    tx = _client(rpc_url, registry, chain_id).add_signer(namespace, the_did)
    console.out.print(f"{the_did} now signs for {namespace!r}")
    console.out.print(_tx_line(tx))


@signer_app.command("remove")
def signer_remove(
    namespace: str,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Retire a key (rotation): releases it signed before stay valid; it cannot sign new ones."""
    the_did = _did_from(key, did, keystore)
    tx = _client(rpc_url, registry, chain_id).remove_signer(namespace, the_did)
    console.out.print(f"{the_did} no longer signs for {namespace!r} (earlier releases keep verifying)")
    console.out.print(_tx_line(tx))


# --- releases ------------------------------------------------------------------------------


@app.command(
    epilog="Example: modelseal publish ./model.gguf --namespace smollm --model chat --version 1.0.0 --key publisher"
)
def publish(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL_PATH", help="The model file or folder.")],
    namespace: Annotated[str, typer.Option(help="Your namespace.")],
    model: Annotated[str, typer.Option(help="Model name ([a-z0-9._-]).")],
    version: Annotated[str, typer.Option(help="Version (printable ASCII, no spaces).")],
    key: KeyOpt,
    license_: Annotated[str | None, typer.Option("--license", help="SPDX license id.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Also write the signed manifest here.")] = None,
    ignore: IgnoreOpt = None,
    follow_symlinks: FollowOpt = False,
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hash, write and sign the manifest, check the key is a signer, and anchor the release."""
    from registry.hashing import DEFAULT_IGNORE
    from registry.names import ReleaseName
    from registry.publish import publish_model

    release = ReleaseName(namespace, model, version)
    signing_key = _keystore(keystore).load(key)
    settings = _settings(home)
    client = _client(rpc_url, registry, chain_id, home)
    result = publish_model(
        client,
        signing_key,
        model_path,
        release,
        home=settings.home,
        license=license_,
        ignore=tuple(ignore) if ignore else DEFAULT_IGNORE,
        follow_symlinks=follow_symlinks,
    )
    if output is not None:
        output.write_text(result.manifest.to_json())
    if as_json:
        _print_json(
            {
                "release": str(release),
                "releaseId": "0x" + result.release_id.hex(),
                "manifestDigest": result.manifest.digest.hex,
                "weightsDigest": result.manifest.weights.digest,
                "manifest": str(result.manifest_path),
                **_tx_json(result.tx),
            }
        )
        return
    console.out.print(f"published {release}")
    console.out.print(f"release id      0x{result.release_id.hex()}")
    console.out.print(f"weights digest  {result.manifest.weights.digest}")
    console.out.print(f"manifest digest {result.manifest.digest.hex} (kept at {result.manifest_path})")
    console.out.print(_tx_line(result.tx))


@app.command(epilog="Example: modelseal revoke smollm/chat/1.0.0 --reason 'weights leaked a test set'")
def revoke(
    release: Annotated[str, typer.Argument(metavar="RELEASE", help="namespace/model/version")],
    reason: Annotated[str, typer.Option(help="Why, for people reading the registry.")],
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Revoke a release for good; verifiers will answer `revoked`."""
    rel = _release(release)
    tx = _client(rpc_url, registry, chain_id).revoke(rel, reason)
    console.out.print(f"revoked {rel}: {reason}")
    console.out.print(_tx_line(tx))


@app.command(epilog="Example: modelseal show smollm/smollm2-135m-instruct/1.0.0")
def show(
    release: Annotated[str, typer.Argument(metavar="RELEASE", help="namespace/model/version")],
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a release as the chain records it (exit 10 if it is not published)."""
    from registry.verify import release_json

    rel = _release(release)
    client = _client(rpc_url, registry, chain_id)
    info = client.release(rel)
    if info is None:
        if as_json:
            _print_json({"release": str(rel), "published": False})
        else:
            console.err.print(f"{rel} is not published on chain {client.chain_id} (registry {client.address})")
        raise typer.Exit(10)
    ns = client.namespace(rel.namespace)
    data = {**release_json(info), "published": True, "controller": ns.controller if ns else None}
    if as_json:
        _print_json(data)
        return
    console.out.print(f"[bold]{info.name}[/]" + ("  [red]REVOKED[/]" if info.revoked else ""))
    for k in ("releaseId", "weightsDigest", "manifestDigest", "publisher", "controller", "publishedAt", "block", "tx"):
        console.out.print(f"  {k:15} {data[k]}")
    if info.revoked:
        console.out.print(f"  {'revokedAt':15} {data['revokedAt']}  reason: {info.revoke_reason}")


@app.command(epilog="Example: modelseal verify ./SmolLM2-135M-Instruct.Q4_1.gguf")
def verify(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL_PATH", help="The model file or folder you have.")],
    release: Annotated[str | None, typer.Option(help="The release it should be (namespace/model/version).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Its manifest (default: the one kept by `publish`).")] = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which registered release is this model? Exit 0 verified, 1 mismatch, 10 not registered, 11 revoked."""
    from registry.verify import verify_model

    doc = _read_manifest(manifest) if manifest is not None else None
    client = _client(rpc_url, registry, chain_id, home)
    verdict, infos = verify_model(
        client,
        model_path,
        release=_release(release) if release else None,
        manifest=doc,
        home=_settings(home).home,
    )
    if as_json:
        _print_json({**verdict.as_json(), "releases": [str(i.name) for i in infos]})
        raise typer.Exit(verdict.exit_status)
    colour = {"verified": "green", "mismatch": "red", "revoked": "red", "unverified": "yellow"}[verdict.verdict]
    what = verdict.release or "no registered release"
    console.out.print(f"[bold {colour}]{verdict.verdict}[/]  {model_path} -> {what}")
    for c in verdict.checks:
        mark = {"pass": "ok  ", "fail": "FAIL", "skip": "skip", "error": "ERR "}[c.status]
        console.out.print(f"  {mark} {c.name}: {c.detail}")
    if infos:
        i = infos[0] if verdict.release is None else next(x for x in infos if str(x.name) == verdict.release)
        console.out.print(f"  published by {i.publisher} at {_iso(i.published_at)} (block {i.block})")
    raise typer.Exit(verdict.exit_status)


# --- operators -----------------------------------------------------------------------------


@operator_app.command(
    "authorize", epilog="Example: modelseal operator authorize smollm/chat/1.0.0 --key operator --expires 90d"
)
def operator_authorize(
    scope: Annotated[str, typer.Argument(help="namespace/model (every version) or namespace/model/version.")],
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    expires: Annotated[str, typer.Option(help="Duration (90d, 12h), date (2027-01-31) or unix seconds.")] = "90d",
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Authorise an operator key to serve a model or one release until the expiry."""
    ns, model, version = _parse_scope(scope)
    the_did = _did_from(key, did, keystore)
    client = _client(rpc_url, registry, chain_id)
    expires_at = parse_expiry(expires, client.now())
    tx = client.authorize_operator(ns, model, version, the_did, expires_at)
    if as_json:
        _print_json({"scope": scope, "operator": the_did, "expiresAt": expires_at, **_tx_json(tx)})
        return
    console.out.print(f"{the_did} may serve {scope} until {_iso(expires_at)}")
    console.out.print(_tx_line(tx))


@operator_app.command("revoke")
def operator_revoke(
    scope: Annotated[str, typer.Argument(help="namespace/model or namespace/model/version, as authorised.")],
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Withdraw an operator's authorisation."""
    ns, model, version = _parse_scope(scope)
    the_did = _did_from(key, did, keystore)
    tx = _client(rpc_url, registry, chain_id).revoke_operator(ns, model, version, the_did)
    console.out.print(f"{the_did} may no longer serve {scope}")
    console.out.print(_tx_line(tx))


# --- endorsements --------------------------------------------------------------------------


@app.command(epilog="Example: modelseal endorse smollm/chat/1.0.0 --kind filing.submitted --data filing.pdf")
def endorse(
    release: Annotated[str, typer.Argument(metavar="RELEASE", help="namespace/model/version")],
    kind: Annotated[str, typer.Option(help="What you attest, e.g. audit.passed, filing.submitted, filing.approved.")],
    data: Annotated[Path | None, typer.Option(help="A document backing it; its BLAKE3 is recorded.")] = None,
    revoke_it: Annotated[
        bool, typer.Option("--revoke", help="Withdraw your endorsement of this kind instead.")
    ] = False,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Endorse a release as the sending account (auditors, regulators, app stores)."""
    from registry.hashing import hash_file

    rel = _release(release)
    client = _client(rpc_url, registry, chain_id)
    if revoke_it:
        tx = client.revoke_endorsement(rel, kind)
        console.out.print(f"withdrew {kind!r} endorsement of {rel}")
    else:
        digest = hash_file(data).value if data is not None else b"\x00" * 32
        tx = client.endorse(rel, kind, digest)
        console.out.print(f"endorsed {rel} as {kind!r}" + (f" with {data} ({digest.hex()})" if data else ""))
    console.out.print(_tx_line(tx))


# --- operators: serving --------------------------------------------------------------------


@app.command(
    "serve", epilog="Example: modelseal serve model.gguf --release smollm/smollm2-135m-instruct/1.0.0 --key operator"
)
def serve_cmd(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL.gguf", help="The GGUF weights to serve.")],
    release: Annotated[str, typer.Option(help="The release you serve: namespace/model/version.")],
    key: KeyOpt,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    threads: Annotated[int, typer.Option(help="CPU threads for llama.cpp.")] = 1,
    unsafe_dev: Annotated[
        bool,
        typer.Option("--unsafe-dev", help="Start even if the chain does not vouch for this deployment (demos/tests)."),
    ] = False,
    keystore: KeysDirOpt = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
) -> None:
    """Serve an OpenAI-compatible chat API (llama.cpp) that proves which registered release it runs.

    Refuses to start unless the release exists, is not revoked, has these weights, and the key is
    an authorised operator for it.
    """
    import uvicorn

    from registry.keys import Ed25519Key
    from registry.serve import NotAuthorised, chat_app, preflight

    operator = _keystore(keystore).load(key)
    if not isinstance(operator, Ed25519Key):
        raise InputError("an operator key must be an Ed25519 did:key", hint="modelseal keygen --name operator")
    client = _client(rpc_url, registry, chain_id)
    check = preflight(client, model_path, _release(release), operator)
    if check.problems and not unsafe_dev:
        raise NotAuthorised("; ".join(check.problems))
    for problem in check.problems:
        console.err.print(f"[bold red]WARNING (--unsafe-dev):[/] {problem}")
    app_ = chat_app(model_path, check.claim, operator, threads=threads)
    console.err.print(
        f"serving {release} as {operator.did} on http://{host}:{port}/v1 (identity at /.well-known/model-identity)"
    )
    uvicorn.run(app_, host=host, port=port, log_level="warning")


receipt_app = typer.Typer(help="Check Model-Receipt headers you kept.", no_args_is_help=True)
app.add_typer(receipt_app, name="receipt")


@receipt_app.command(
    "verify", epilog="Example: modelseal receipt verify --receipt receipt.txt --request req.json --response resp.json"
)
def receipt_verify(
    receipt: Annotated[str, typer.Option(help="The Model-Receipt header value, or @FILE holding it.")],
    request: Annotated[Path, typer.Option(help="The exact request body you sent.")],
    response: Annotated[Path, typer.Option(help="The exact response body you received (a stream: all of it).")],
    offline: Annotated[
        bool, typer.Option("--offline", help="Only check the signature and hashes, not the chain.")
    ] = False,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    chain_id: ChainIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Prove which registered release answered: the operator's signature over your exact request
    and response, then (unless --offline) the release and operator on chain."""
    from registry.identity import split_sse_receipt, verify_receipt

    header = Path(receipt[1:]).read_text().strip() if receipt.startswith("@") else receipt.strip()
    req, resp = request.read_bytes(), response.read_bytes()
    if header == "sse":
        resp, header = split_sse_receipt(resp)
    r = verify_receipt(header, req, resp)
    result: dict[str, Any] = {
        "release": str(r.release),
        "operator": r.operator,
        "time": _iso(r.time),
        "weightsDigest": r.weights_digest,
        "signature": "valid",
    }
    status = 0
    if not offline:
        client = _client(rpc_url, registry, chain_id)
        info = client.release(r.release)
        authorised = client.is_operator_authorized(r.release, r.operator)
        result["chain"] = {
            "released": info is not None,
            "weightsMatch": info is not None and info.weights_digest.hex() == r.weights_digest,
            "revoked": bool(info and info.revoked),
            "operatorAuthorisedNow": authorised,
        }
        if info is None or info.weights_digest.hex() != r.weights_digest:
            status = 1
        elif info.revoked:
            status = 11
    if as_json:
        _print_json(result)
    else:
        console.out.print(f"receipt signature valid: {r.release} answered, operator {r.operator}, at {result['time']}")
        if "chain" in result:
            c = result["chain"]
            console.out.print(
                f"on chain: released={c['released']} weights match={c['weightsMatch']} revoked={c['revoked']} "
                f"operator authorised now={c['operatorAuthorisedNow']}"
            )
    raise typer.Exit(status)
