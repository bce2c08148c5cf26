"""The verifier's commands, plugged into ``modelseal`` through the ``modelseal.cli`` entry point
(``registry`` never imports ``verifier``): ``modelseal verifier serve|index|worker``, ``modelseal watch``,
``modelseal check`` and ``modelseal reference add|list``.

They share the chain option set of :mod:`registry.cli.options` (``--rpc-url``, ``--registry``,
``--chain-id``, ``--home``) and the exit-status table of :class:`registry.errors.ExitCode`;
``modelseal check`` runs the verifier's one verdict rule (:mod:`verifier.check`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from registry.cli.options import ChainTarget, HomeOpt, chain_options

if TYPE_CHECKING:
    from verifier.settings import VerifierSettings

verifier_app = typer.Typer(help="Run the verifier service (REST API, web page, chain indexer).", no_args_is_help=True)

DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL [env MODELSEAL_DATABASE_URL; default SQLite].")
]


def _settings(chain: ChainTarget, **overrides: Any) -> VerifierSettings:
    """The verifier's settings from the environment, with the command line's chain options and
    ``overrides`` (those not None) applied."""
    from verifier.settings import VerifierSettings

    values = {**chain.overrides(), **{k: v for k, v in overrides.items() if v is not None}}
    return VerifierSettings(**values)


@verifier_app.command("serve", epilog="Example: modelseal verifier serve --port 8000")
@chain_options
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 needs --public).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    public: Annotated[bool, typer.Option("--public", help="Allow binding a non-loopback interface.")] = False,
    database_url: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Say where it serves as one JSON object on stdout when it starts.")
    ] = False,
    *,
    chain: ChainTarget,
) -> None:
    """Serve the REST API (/v1, OpenAPI at /docs) and the web page, indexing the chain as it goes."""
    import uvicorn

    from registry.errors import InputError
    from verifier.app import create_app

    if host not in ("127.0.0.1", "localhost", "::1") and not public:
        raise InputError(f"refusing to bind {host} without --public", hint="the verifier binds 127.0.0.1 by default")
    settings = _settings(chain, database_url=database_url)
    app = create_app(settings)
    print(f"modelseal verifier on http://{host}:{port}  (API /v1, docs /docs)", file=sys.stderr)
    if as_json:
        base = f"http://{host}:{port}"
        print(json.dumps({"url": base, "api": f"{base}/v1", "docs": f"{base}/docs"}), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@verifier_app.command("index", epilog="Example: modelseal verifier index --follow")
@chain_options
def index(
    follow: Annotated[bool, typer.Option("--follow", help="Keep following the chain.")] = False,
    batch_blocks: Annotated[int | None, typer.Option(help="Blocks per eth_getLogs query.")] = None,
    confirmations: Annotated[int | None, typer.Option(help="Blocks below the head to stay.")] = None,
    database_url: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per step instead of a line of text.")
    ] = False,
    *,
    chain: ChainTarget,
) -> None:
    """Bring the index up to the chain head without serving (resumes from its checkpoint).

    One process indexes a database at a time (the indexer lease): while another holds it, this
    waits for it to expire (MODELSEAL_LEASE_SECONDS after its holder stopped renewing it); with
    --follow it stands by and takes over when the holder dies."""
    from verifier.app import build_services

    settings = _settings(
        chain, database_url=database_url, batch_blocks=batch_blocks, confirmations=confirmations,
        index_in_background=False,
    )  # fmt: skip
    svc = build_services(settings)
    waited, told = 0.0, False
    while True:
        added = svc.indexer.sync_once()
        st = svc.indexer.status()
        leading = svc.indexer.leading
        if as_json:
            print(json.dumps({"added": added, "indexing": leading, **st.as_json()}), flush=True)
        elif leading:
            print(f"indexed to block {st.indexed} of {st.head} (+{added} events, {st.behind} behind)", flush=True)
        elif not told:  # one replica indexes at a time (the lease); this one waits for it, or its expiry
            print(
                f"another process holds the indexer lease; the index is at block {st.indexed} of {st.head} "
                f"(waiting up to {settings.lease_seconds:.0f} s for the lease)",
                flush=True,
            )
            told = True
        if not follow and (leading or waited > settings.lease_seconds + settings.poll_seconds):
            return
        time.sleep(settings.poll_seconds)
        waited += settings.poll_seconds


@verifier_app.command(
    "worker",
    epilog="Example: MODELSEAL_JOBS=queue modelseal verifier worker --queue behaviour,audits  "
    "(a machine with the reference weights; another runs: modelseal verifier worker --queue checks --concurrency 8)",
)
@chain_options
def worker(
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue",
            metavar="QUEUE",
            help="Take jobs from this queue: behaviour, checks or audits (repeat it, or give a comma list) "
            "[default: all three].",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            metavar="N",
            help="Endpoint checks run at once (they wait on the network); behavioural checks "
            "and audits always run one at a time.",
        ),
    ] = 1,
    once: Annotated[bool, typer.Option("--once", help="Stop when the queues are empty instead of waiting.")] = False,
    database_url: DbOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Say what it works on as one JSON object on stdout when it starts.")
    ] = False,
    *,
    chain: ChainTarget,
) -> None:
    """Run jobs from the verifiers' PostgreSQL task queue (MODELSEAL_JOBS=queue) until stopped
    (Ctrl-C or SIGTERM: running jobs finish first). Start as many as you like, on any machine that
    can reach the database: behavioural checks and receipt audits need the release's reference
    weights here (modelseal reference add FILE); endpoint checks need the chain's RPC and reach
    the chatbots."""
    from registry.errors import InputError
    from verifier.jobs import parse_queues, run_worker

    settings = _settings(chain, database_url=database_url)
    if not (settings.database_url or "").startswith("postgresql"):
        raise InputError(
            "a worker takes jobs from the verifiers' PostgreSQL database",
            hint="set MODELSEAL_DATABASE_URL=postgresql+psycopg://... (the replicas' database), MODELSEAL_JOBS=queue",
        )
    try:
        queues = parse_queues(queue)
    except ValueError as exc:
        raise InputError(str(exc), hint="for example: --queue behaviour,audits") from None
    where = _redacted(settings.database_url or "")
    print(f"modelseal worker: {', '.join(queues)} from {where} ({concurrency} check(s) at once)", file=sys.stderr)
    if as_json:
        described = {"queues": queues, "concurrency": concurrency, "database": where, "home": str(settings.home)}
        print(json.dumps(described), flush=True)
    run_worker(settings, wait=not once, queues=queues, concurrency=concurrency)


def _redacted(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def watch(
    namespace: Annotated[str | None, typer.Option(help="Only events that concern this namespace.")] = None,
    verifier: Annotated[
        str,
        typer.Option(
            envvar="MODELSEAL_VERIFIER_URL",
            help="Verifier base URL [env MODELSEAL_VERIFIER_URL; default: a local `modelseal verifier serve`].",
        ),
    ] = "http://127.0.0.1:8000",
    cursor: Annotated[int, typer.Option(help="Start after this cursor (0 = from the beginning).")] = 0,
    once: Annotated[bool, typer.Option("--once", help="Print what is there and stop.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow the verifier's monitor feed and print each event as it happens (Ctrl-C to stop)."""
    import httpx

    print(f"following {verifier}/v1/feed", file=sys.stderr, flush=True)  # which verifier: never a silent default
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


@chain_options
def check(
    url: Annotated[str, typer.Argument(help="The chatbot's base URL, e.g. https://chat.example.com")],
    chain: ChainTarget,
    release: Annotated[str | None, typer.Option(help="The release it should serve: namespace/model/version.")] = None,
    allow_loopback: Annotated[
        bool, typer.Option("--allow-loopback", help="Allow 127.0.0.1/::1 targets (local tests).")
    ] = False,
    allow_private: Annotated[bool, typer.Option("--allow-private", help="Allow private-network targets.")] = False,
    behaviour: Annotated[
        bool, typer.Option("--behaviour", help="Also replay fresh prompts on the reference weights (tens of seconds).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Is the chatbot at URL really the registered deployment it claims? (directly against the chain)

    The same verdict rule as the verifier's /v1/check, with facts read from the contract: the
    release and its revocation, look-alike names, the endpoint's identity claim and a fresh signed
    challenge, the operator's authorisation at chain time, one real chat request and its receipt.
    Exit 0 verified, 1 mismatch, 10 unverified, 11 revoked.
    """
    from registry.chain.client import RegistryClient
    from registry.chains import CHAIN_NAMES, chain_name
    from registry.names import ReleaseName
    from registry.verdict import Check
    from verifier.check import ClientFacts, ReleaseFact, check_endpoint, make_prober
    from verifier.guard import GuardedClient, GuardPolicy
    from verifier.probe import chatbot_url

    chatbot_url(url)  # a URL that cannot be contacted is bad input, said before the chain is asked

    settings = _settings(
        chain, allow_loopback_targets=allow_loopback or None, allow_private_targets=allow_private or None
    )
    client = RegistryClient.from_settings(chain.settings())
    claimed = ReleaseName.parse(release) if release else None

    def replay(subject: ReleaseName, fact: ReleaseFact | None) -> Check:
        from verifier.behaviour import BehaviourService

        if fact is None:
            return Check("behaviour", "skip", f"{subject} is not registered")
        runner = BehaviourService(settings.home, GuardedClient(GuardPolicy.for_behaviour(settings), keep_alive=True))
        return runner.check_now(url, subject, fact.weights_digest)

    prober = make_prober(settings)
    try:
        result = check_endpoint(url, claimed, ClientFacts(client), prober, replay if behaviour else None)
    finally:
        prober.client.close()
    verdict = result.verdict
    if as_json:
        print(json.dumps(verdict.as_json(), indent=2))
    else:
        print(f"{verdict.verdict}  {url} -> {verdict.release or 'no claimed release'}")
        for w in verdict.warnings():  # right under the verdict: never lost among the checks
            print(f"  WARNING [{w['code']}] {w['message']}")
        if verdict.chain is not None:  # which chain judged it: a verdict against the wrong one misleads
            view = verdict.chain
            named = f": {chain_name(view.chain_id)}" if view.chain_id in CHAIN_NAMES else ""
            print(f"  asked chain {view.chain_id}{named}, registry {view.registry}, at block {view.block}")
        for c in verdict.checks:
            print(f"  {c.status:5} {c.name}: {c.detail}")
    raise typer.Exit(verdict.exit_status)


reference_app = typer.Typer(help="Reference weights for behavioural checks.", no_args_is_help=True)


@reference_app.command("add", epilog="Example: modelseal reference add SmolLM2-135M-Instruct.Q4_1.gguf")
def reference_add(
    path: Annotated[Path, typer.Argument(help="A GGUF file of a registered open-weight release.")],
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")] = False,
) -> None:
    """Keep a model file as reference weights, indexed by its BLAKE3. It is used for a release only
    when this digest equals the release's weights digest on chain (re-hashed before each use)."""
    from registry.settings import Settings
    from verifier.behaviour import ReferenceStore

    store = ReferenceStore((home or Settings().home) / "references")
    digest = store.add(path)
    if as_json:
        print(json.dumps({"weightsDigest": digest.hex, "path": str(path.resolve())}))
        return
    print(f"reference {digest.hex} -> {path.resolve()}")


@reference_app.command("list", epilog="Example: modelseal reference list --json")
def reference_list(
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")] = False,
) -> None:
    """List the reference weights this data folder holds."""
    from registry.settings import Settings
    from verifier.behaviour import ReferenceStore

    digests = [str(d) for d in ReferenceStore((home or Settings().home) / "references").digests()]
    if as_json:
        print(json.dumps({"references": digests}))
        return
    for digest in digests:
        print(digest)


def _read_bounded(path: Path, what: str, limit: int) -> bytes:
    from registry.errors import InputError

    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"the {what} {path} is larger than {limit} bytes", hint="audits replay small answers")
    return data


@chain_options
def receipt_audit(
    receipt: Annotated[
        str,
        typer.Option(
            help="The Model-Receipt header value, or @FILE holding it (the value alone, or saved headers "
            "with a 'Model-Receipt:' line)."
        ),
    ],
    request: Annotated[Path, typer.Option(help="The exact request body you sent (temperature 0).")],
    response: Annotated[Path, typer.Option(help="The exact response body you received.")],
    chain: ChainTarget,
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit as JSON.")] = False,
) -> None:
    """Replay a kept, deterministic chat request on the registered weights: do they give the answer
    the operator signed? Uses this machine's reference weights (modelseal reference add FILE) and
    the chain. Exit 0 match, 1 mismatch, 10 not auditable (the reason is printed)."""
    from registry.chain.client import RegistryClient
    from registry.errors import ExitCode
    from registry.identity.protocol import receipt_value
    from verifier.audit import MAX_AUDIT_BYTES, audit_receipt
    from verifier.behaviour import ReferenceStore, Replayer
    from verifier.check import ClientFacts

    settings = _settings(chain)
    header = receipt_value(
        _read_bounded(Path(receipt[1:]), "receipt", 16_384).decode("latin-1") if receipt.startswith("@") else receipt
    )
    req = _read_bounded(request, "request", MAX_AUDIT_BYTES)
    resp = _read_bounded(response, "response", MAX_AUDIT_BYTES)
    facts = ClientFacts(RegistryClient.from_settings(chain.settings()))
    store = ReferenceStore(settings.home / "references")
    audit = audit_receipt(req, resp, header, facts.release, store.get, Replayer())
    if as_json:
        print(json.dumps(audit.as_json(), indent=2))
    else:
        print(f"{audit.decision}  {audit.evidence.get('release')} (operator {audit.evidence.get('operator')})")
        print(f"  {audit.detail}")
    codes = {"match": ExitCode.OK, "mismatch": ExitCode.FAILED, "not-auditable": ExitCode.UNVERIFIED}
    raise typer.Exit(codes[audit.decision])


def register(app: typer.Typer) -> None:
    """Entry point ``modelseal.cli``: add the verifier's commands to ``modelseal``."""
    app.add_typer(verifier_app, name="verifier")
    app.command("watch", epilog="Example: modelseal watch --namespace smollm")(watch)
    app.add_typer(reference_app, name="reference")
    app.command("check", epilog="Example: modelseal check http://127.0.0.1:8080 --allow-loopback")(check)
    for group in app.registered_groups:  # `modelseal receipt` is the publisher/client CLI's group
        if group.name == "receipt" and group.typer_instance is not None:
            group.typer_instance.command(
                "audit",
                epilog="Example: modelseal receipt audit --receipt @r.txt --request req.json --response resp.json",
            )(receipt_audit)
