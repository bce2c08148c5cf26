"""``modelseal namespace claim|transfer|accept`` and ``modelseal signer add|remove``: who controls
a namespace, and which keys sign its releases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from registry.cli import console
from registry.cli.options import (
    ChainTarget,
    DidOpt,
    JsonOpt,
    KeysDirOpt,
    SignerKeyOpt,
    YesOpt,
    chain_options,
    confirm,
    did_from,
    print_json,
    report_tx,
    tx_json,
    tx_line,
)

if TYPE_CHECKING:
    from registry.chain.client import RegistryClient

namespace_app = typer.Typer(help="Claim and transfer namespaces.", no_args_is_help=True)
signer_app = typer.Typer(help="Add and remove the keys that sign a namespace's releases.", no_args_is_help=True)


@namespace_app.command("claim", epilog="Example: modelseal namespace claim smollm")
@chain_options
def namespace_claim(
    name: Annotated[str, typer.Argument(help="Namespace: [a-z0-9-], 2-64, no leading/trailing/double hyphen.")],
    chain: ChainTarget,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Claim a namespace: the sending account becomes its controller. A name that could be mistaken
    for one claimed earlier is flagged by every verifier as a look-alike, for good: the command
    names the earlier ones and asks first (--yes skips the question)."""
    client = chain.client()
    lookalikes = _earlier_lookalikes(client, name)
    if lookalikes:
        for c in lookalikes:
            console.err.print(
                f"warning: {name!r} could be mistaken for {c['namespace']!r}, claimed earlier ({c['detail']}); "
                "verifiers will show this warning on every check of its releases"
            )
        confirm(f"claiming {name!r}, a look-alike of {', '.join(repr(c['namespace']) for c in lookalikes)},", yes)
    tx = client.claim_namespace(name)
    controller = client.account.address if client.account else None
    if as_json:
        print_json({"namespace": name, "controller": controller, "lookalikeOf": lookalikes, **tx_json(tx)})
        return
    console.out.print(f"claimed namespace {name!r}; controller {controller or '?'}")
    console.out.print(tx_line(tx))


def _earlier_lookalikes(client: RegistryClient, name: str) -> list[dict[str, str]]:
    """Namespaces claimed before that ``name`` could be mistaken for. Empty for a name the contract
    will refuse anyway (it says why) and for a name already claimed (it says by whom)."""
    from registry.confusables import ConfusableIndex
    from registry.errors import InputError
    from registry.names import check_namespace

    try:
        check_namespace(name)
    except InputError:
        return []
    names = client.namespace_names()
    if name in names:
        return []
    found = ConfusableIndex(names).standing(name).earlier
    return [{"namespace": c.existing, "reason": c.reason, "detail": c.detail} for c in found]


@namespace_app.command("transfer", epilog="Example: modelseal namespace transfer acme 0xNEW_CONTROLLER")
@chain_options
def namespace_transfer(
    name: Annotated[str, typer.Argument(help="The namespace.")],
    new_controller: Annotated[str, typer.Argument(help="Address that must then run `namespace accept`.")],
    chain: ChainTarget,
    as_json: JsonOpt = False,
) -> None:
    """Offer a namespace to another account (two steps: it must accept)."""
    tx = chain.client().transfer_namespace(name, new_controller)
    text = f"offered {name!r} to {new_controller}; it must run: modelseal namespace accept {name}"
    report_tx(as_json, text, {"namespace": name, "offeredTo": new_controller}, tx)


@namespace_app.command("accept", epilog="Example: modelseal namespace accept acme   (as the new controller)")
@chain_options
def namespace_accept(
    name: Annotated[str, typer.Argument(help="The namespace.")], chain: ChainTarget, as_json: JsonOpt = False
) -> None:
    """Accept a namespace offered to the sending account; lists the signing keys and operator
    grants that stay valid from before the transfer."""
    client = chain.client()
    tx = client.accept_namespace(name)
    signers, grants = client.standing_grants(name)
    if as_json:
        print_json({"namespace": name, "controller": tx.sender, "signers": signers, "operators": grants, **tx_json(tx)})
        return
    console.out.print(f"{tx.sender} now controls {name!r}")
    console.out.print(tx_line(tx))
    if signers or grants:  # a transfer moves control only: what the previous controller set stays valid
        console.out.print(
            f"still valid from before the transfer ({len(signers)} signing key(s), {len(grants)} operator grant(s));"
            " remove what you do not vouch for with `modelseal signer remove` / `modelseal operator revoke`:"
        )
        for did in signers:
            console.out.print(f"  signer   {did}")
        for grant in grants:
            console.out.print(f"  operator {grant}")


@signer_app.command("add", epilog="Example: modelseal signer add smollm --key publisher")
@chain_options
def signer_add(
    namespace: Annotated[str, typer.Argument(help="The namespace.")],
    chain: ChainTarget,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore_dir: KeysDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Let a key sign releases of the namespace, from now on."""
    _change_signer(chain, namespace, did_from(key, did, keystore_dir), remove=False, as_json=as_json)


@signer_app.command("remove", epilog="Example: modelseal signer remove acme --key old-publisher --yes")
@chain_options
def signer_remove(
    namespace: Annotated[str, typer.Argument(help="The namespace.")],
    chain: ChainTarget,
    key: SignerKeyOpt = None,
    did: DidOpt = None,
    keystore_dir: KeysDirOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Retire a key (rotation): releases it signed before stay valid; it cannot sign new ones, and
    can never be added back. Asks first (--yes skips it)."""
    the_did = did_from(key, did, keystore_dir)
    confirm(f"retiring {the_did} from {namespace!r}", yes)
    _change_signer(chain, namespace, the_did, remove=True, as_json=as_json)


def _change_signer(chain: ChainTarget, namespace: str, the_did: str, *, remove: bool, as_json: bool) -> None:
    client = chain.client()
    data = {"namespace": namespace, "did": the_did, "signer": not remove}
    if remove:
        tx = client.remove_signer(namespace, the_did)
        report_tx(as_json, f"{the_did} no longer signs for {namespace!r} (earlier releases keep verifying)", data, tx)
    else:
        tx = client.add_signer(namespace, the_did)
        report_tx(as_json, f"{the_did} now signs for {namespace!r}", data, tx)


@namespace_app.command("list", epilog="Example: modelseal namespace list --json")
@chain_options
def namespace_list(chain: ChainTarget, as_json: JsonOpt = False) -> None:
    """Every namespace claimed on this registry, from its events."""
    client = chain.client()
    names = sorted(client.namespace_names())
    if as_json:
        print_json({"chainId": client.chain_id, "registry": client.address, "namespaces": names})
        return
    for name in names:
        console.out.print(name)


@namespace_app.command("show", epilog="Example: modelseal namespace show smollm")
@chain_options
def namespace_show(
    name: Annotated[str, typer.Argument(help="The namespace.")], chain: ChainTarget, as_json: JsonOpt = False
) -> None:
    """Who controls a namespace, its current signing keys and operator grants (exit 10 if unclaimed)."""
    from registry.errors import ExitCode

    client = chain.client()
    info = client.namespace(name)
    if info is None:
        if as_json:
            print_json({"namespace": name, "claimed": False})
        else:
            console.err.print(
                f"namespace {name!r} is not claimed on chain {client.chain_id} (registry {client.address})"
            )
        raise typer.Exit(ExitCode.UNVERIFIED)
    signers, grants = client.standing_grants(name)
    data = {
        "namespace": name,
        "claimed": True,
        "controller": info.controller,
        "pendingController": info.pending_controller,
        "signers": signers,
        "operators": grants,
    }
    if as_json:
        print_json(data)
        return
    console.out.print(f"namespace {name} on chain {client.chain_id} (registry {client.address})")
    console.out.print(
        f"  controller  {info.controller}"
        + (f" (offered to {info.pending_controller})" if info.pending_controller else "")
    )
    for did in signers or ["(none)"]:
        console.out.print(f"  signer      {did}")
    for grant in grants or ["(none)"]:
        console.out.print(f"  operator    {grant}")


@signer_app.command("list", epilog="Example: modelseal signer list smollm")
@chain_options
def signer_list(
    namespace: Annotated[str, typer.Argument(help="The namespace.")], chain: ChainTarget, as_json: JsonOpt = False
) -> None:
    """The current signing keys of a namespace (removed keys are not listed: they never sign again)."""
    signers, _grants = chain.client().standing_grants(namespace)
    if as_json:
        print_json({"namespace": namespace, "signers": signers})
        return
    for did in signers:
        console.out.print(did)


def register(app: typer.Typer) -> None:
    app.add_typer(namespace_app, name="namespace")
    app.add_typer(signer_app, name="signer")
