"""The verifier's commands, plugged into ``modelseal`` through the ``modelseal.cli`` entry point
(``registry`` never imports ``verifier``): ``modelseal verifier serve``, ``modelseal verifier
index`` and ``modelseal watch``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

verifier_app = typer.Typer(help="Run the verifier service (REST API, web page, chain indexer).", no_args_is_help=True)

RpcOpt = Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL [env MODELSEAL_RPC_URL].")]
RegistryOpt = Annotated[str | None, typer.Option("--registry", help="Registry address [env MODELSEAL_REGISTRY].")]
DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL [env MODELSEAL_DATABASE_URL; default SQLite].")
]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data folder [env MODELSEAL_HOME].")]


def _settings(**overrides: Any) -> Any:
    from verifier.settings import VerifierSettings

    settings = VerifierSettings()
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


@verifier_app.command("serve", epilog="Example: modelseal verifier serve --port 8000")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 needs --public).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    public: Annotated[bool, typer.Option("--public", help="Allow binding a non-loopback interface.")] = False,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    database_url: DbOpt = None,
    home: HomeOpt = None,
) -> None:
    """Serve the REST API (/v1, OpenAPI at /docs) and the web page, indexing the chain as it goes."""
    import uvicorn

    from registry.errors import InputError
    from verifier.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1") and not public:
        raise InputError(f"refusing to bind {host} without --public", hint="the verifier binds 127.0.0.1 by default")
    settings = _settings(rpc_url=rpc_url, registry=registry, database_url=database_url, home=home)
    app = create_app(settings)
    print(f"modelseal verifier on http://{host}:{port}  (API /v1, docs /docs)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@verifier_app.command("index", epilog="Example: modelseal verifier index --follow")
def index(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the chain.")] = False,
    batch_blocks: Annotated[int | None, typer.Option(help="Blocks per eth_getLogs query.")] = None,
    confirmations: Annotated[int | None, typer.Option(help="Blocks below the head to stay.")] = None,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    database_url: DbOpt = None,
    home: HomeOpt = None,
) -> None:
    """Bring the index up to the chain head without serving (resumes from its checkpoint)."""
    from verifier.app import build_services

    settings = _settings(
        rpc_url=rpc_url, registry=registry, database_url=database_url, home=home, batch_blocks=batch_blocks,
        confirmations=confirmations, index_in_background=False,
    )  # fmt: skip
    svc = build_services(settings)
    while True:
        added = svc.indexer.sync_once()
        st = svc.indexer.status()
        print(json.dumps({"added": added, **st.as_json()}), flush=True)
        if not follow:
            return
        time.sleep(settings.poll_seconds)


def watch(
    namespace: Annotated[str | None, typer.Option(help="Only events that concern this namespace.")] = None,
    verifier: Annotated[str, typer.Option(help="Verifier base URL.")] = "http://127.0.0.1:8000",
    cursor: Annotated[int, typer.Option(help="Start after this cursor (0 = from the beginning).")] = 0,
    once: Annotated[bool, typer.Option("--once", help="Print what is there and stop.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow the verifier's monitor feed and print each event as it happens (Ctrl-C to stop)."""
    import httpx

    from registry.errors import ChainError

    params: dict[str, Any] = {"cursor": cursor}
    if namespace:
        params["namespace"] = namespace
    with httpx.Client(base_url=verifier, timeout=10) as client:
        while True:
            try:
                resp = client.get("/v1/feed", params=params)
            except httpx.HTTPError as exc:
                raise ChainError(
                    f"cannot reach the verifier at {verifier}: {exc}", hint="start it: modelseal verifier serve"
                ) from None
            if resp.status_code != 200:
                raise ChainError(f"verifier answered {resp.status_code}: {resp.text[:200]}")
            data = resp.json()
            for ev in data["events"]:
                print(json.dumps(ev) if as_json else _line(ev), flush=True)
            params["cursor"] = data["nextCursor"]
            if once:
                return
            time.sleep(interval)


def _describe(name: str, a: dict[str, Any]) -> str:
    scope = f"{a.get('namespace')}/{a.get('model')}" + (f"/{a['version']}" if a.get("version") else "")
    if name == "NamespaceClaimed":
        return f"namespace {a['namespace']!r} claimed by {a['controller']}"
    if name == "NamespaceTransferStarted":
        return f"transfer of {a['namespace']!r} offered to {a['pendingController']}"
    if name == "NamespaceTransferred":
        return f"{a['namespace']!r} now controlled by {a['newController']}"
    if name == "SignerAdded":
        return f"signer added to {a['namespace']!r}: {a['did']}"
    if name == "SignerRemoved":
        return f"signer removed from {a['namespace']!r}: {a['didHash']}"
    if name == "ReleasePublished":
        return f"release {a['namespace']}/{a['model']}/{a['version']} published by {a['publisher']}"
    if name == "ReleaseRevoked":
        return f"release {a['releaseId']} revoked: {a['reason']}"
    if name == "OperatorAuthorized":
        return f"operator {a['operatorDid']} authorised on {scope}"
    if name == "OperatorRevoked":
        return f"operator {a['operatorDidHash']} revoked on {scope}"
    if name == "Endorsed":
        return f"{a['endorser']} endorsed {a['releaseId']} as {a['kind']!r}"
    if name == "EndorsementRevoked":
        return f"{a['endorser']} withdrew {a['kind']!r} on {a['releaseId']}"
    return name


def _line(ev: dict[str, Any]) -> str:
    line = f"[{ev['cursor']}] block {ev['block']}: {_describe(ev['event'], ev['args'])}"
    alerts = ev.get("alerts") or {}
    for c in alerts.get("confusableWith", []):
        line += f"\n    WARNING: could be mistaken for {c['namespace']!r} ({c['detail']})"
    return line


def check(
    url: Annotated[str, typer.Argument(help="The chatbot's base URL, e.g. https://chat.example.com")],
    release: Annotated[str | None, typer.Option(help="The release it should serve: namespace/model/version.")] = None,
    allow_loopback: Annotated[
        bool, typer.Option("--allow-loopback", help="Allow 127.0.0.1/::1 targets (local tests).")
    ] = False,
    allow_private: Annotated[bool, typer.Option("--allow-private", help="Allow private-network targets.")] = False,
    rpc_url: RpcOpt = None,
    registry: RegistryOpt = None,
    behaviour: Annotated[
        bool, typer.Option("--behaviour", help="Also replay fresh prompts on the reference weights (tens of seconds).")
    ] = False,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Is the chatbot at URL really the registered deployment it claims? (directly against the chain)

    Fetches its identity claim, sends a fresh challenge, checks the chain, makes one real chat
    request and verifies its receipt. Exit 0 verified, 1 mismatch, 10 unverified, 11 revoked.
    """
    from registry.chain import RegistryClient
    from registry.names import ReleaseName
    from registry.settings import Settings
    from registry.verdict import ChainView, Check, Verdict
    from verifier.guard import GuardedClient, GuardPolicy
    from verifier.prober import Prober, facts_from_client

    settings = Settings()
    client = RegistryClient.from_settings(settings, rpc_url=rpc_url, registry=registry)
    claimed = ReleaseName.parse(release) if release else None
    guard = GuardedClient(GuardPolicy(allow_loopback=allow_loopback, allow_private=allow_private))
    try:
        probe = Prober(guard).probe(url, claimed, facts_from_client(client))
    finally:
        guard.close()
    checks = list(probe.checks)
    subject = claimed or (probe.claim.release if probe.claim else None)
    if behaviour:
        if subject is None:
            checks.append(Check("behaviour", "skip", "no release to compare with"))
        else:
            from verifier.behaviour import BehaviourService

            info = client.release(subject)
            if info is None:
                checks.append(Check("behaviour", "skip", f"{subject} is not registered"))
            else:
                slow = GuardPolicy(allow_loopback=allow_loopback, allow_private=allow_private, total_timeout=180.0)
                runner = BehaviourService(home or settings.home, GuardedClient(slow))
                checks.append(runner.check_now(url, subject, info.weights_digest.hex()))
    word = Verdict.decide(checks)
    if word == "verified" and not any(c.name == "identity" and c.status == "pass" for c in checks):
        word = "unverified"
    view = ChainView(client.chain_id, client.address, client.block_number())
    verdict = Verdict(word, tuple(checks), str(subject) if subject else None, view, {"url": url})
    if as_json:
        print(json.dumps(verdict.as_json(), indent=2))
    else:
        print(f"{verdict.verdict}  {url} -> {verdict.release or 'no claimed release'}")
        for c in verdict.checks:
            print(f"  {c.status:5} {c.name}: {c.detail}")
    raise typer.Exit(verdict.exit_status)


reference_app = typer.Typer(help="Reference weights for behavioural checks.", no_args_is_help=True)


@reference_app.command("add", epilog="Example: modelseal reference add SmolLM2-135M-Instruct.Q4_1.gguf")
def reference_add(
    path: Annotated[Path, typer.Argument(help="A GGUF file of a registered open-weight release.")],
    home: HomeOpt = None,
) -> None:
    """Keep a model file as reference weights, indexed by its BLAKE3. It is used for a release only
    when this digest equals the release's weights digest on chain (re-hashed before each use)."""
    from registry.settings import Settings
    from verifier.behaviour import ReferenceStore

    store = ReferenceStore((home or Settings().home) / "references")
    digest = store.add(path)
    print(f"reference {digest.hex} -> {path.resolve()}")


@reference_app.command("list")
def reference_list(home: HomeOpt = None) -> None:
    """List the reference weights this data folder holds."""
    from registry.settings import Settings
    from verifier.behaviour import ReferenceStore

    for digest in ReferenceStore((home or Settings().home) / "references").digests():
        print(digest)


def register(app: typer.Typer) -> None:
    """Entry point ``modelseal.cli``: add the verifier's commands to ``modelseal``."""
    app.add_typer(verifier_app, name="verifier")
    app.command("watch", epilog="Example: modelseal watch --namespace smollm")(watch)
    app.add_typer(reference_app, name="reference")
    app.command("check", epilog="Example: modelseal check http://127.0.0.1:8080 --allow-loopback")(check)
