"""``modelseal chain up|down|status``: the local development chain (anvil, state in the data folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from registry.cli import console
from registry.cli.options import HomeOpt, JsonOpt, print_json, settings
from registry.errors import ExitCode

chain_app = typer.Typer(help="Start, stop and inspect the local dev chain (anvil).", no_args_is_help=True)
PortOpt = Annotated[
    int | None,
    typer.Option(
        help="Port on 127.0.0.1 [default: the port of MODELSEAL_RPC_URL when it is a loopback URL, else 8545]."
    ),
]


def _port(port: int | None, home: Path | None) -> int:
    """The dev chain's port: the option, else the one every other command would use (the port of
    a loopback ``MODELSEAL_RPC_URL``), else anvil's 8545 - so `chain status` and `chain down`
    speak of the chain the other commands talk to."""
    if port is not None:
        return port
    from urllib.parse import urlsplit

    url = urlsplit(settings(home=home).rpc_url)
    if url.hostname in ("127.0.0.1", "localhost", "::1") and url.port:
        return url.port
    return 8545


@chain_app.command("up", epilog="Example: modelseal chain up && modelseal chain status")
def chain_up(port: PortOpt = None, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Start anvil on 127.0.0.1 (state kept in the data folder) and deploy the registry once."""
    from registry.chain.client import ANVIL_DEV_KEYS
    from registry.chain.devchain import DevChain, ensure_registry, start

    chain = DevChain(settings(home=home).home, _port(port, home))
    pid = start(chain)
    deployment, fresh = ensure_registry(chain, "0x" + ANVIL_DEV_KEYS[0].hex())
    if as_json:
        print_json({"rpcUrl": chain.rpc_url, "pid": pid, "deployedNow": fresh, **deployment.as_json()})
        return
    console.out.print(f"dev chain {deployment.chain_id} at {chain.rpc_url} (pid {pid}, state {chain.state_file})")
    verb = "deployed" if fresh else "found"
    console.out.print(
        f"registry {verb} at {deployment.address} (block {deployment.block}, version {deployment.version})"
    )


@chain_app.command("down", epilog="Example: modelseal chain down   (the state is kept for the next chain up)")
def chain_down(port: PortOpt = None, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Stop the dev chain cleanly (its state is saved and comes back with `chain up`)."""
    from registry.chain.devchain import DevChain, stop

    chain = DevChain(settings(home=home).home, _port(port, home))
    stopped = stop(chain)
    if as_json:
        print_json({"rpcUrl": chain.rpc_url, "stopped": stopped, "wasRunning": stopped})
        return
    console.out.print("dev chain stopped" if stopped else "dev chain was not running")


@chain_app.command("status", epilog="Example: modelseal chain status --json")
def chain_status(port: PortOpt = None, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Say whether the dev chain runs, its head block, and where the registry is (exit 3 if it does not run)."""
    from registry.chain.artifacts import load_deployment
    from registry.chain.devchain import DEV_CHAIN_ID, DevChain

    data_home = settings(home=home).home
    chain = DevChain(data_home, _port(port, home))
    chain_id = chain.rpc_chain_id()
    deployment = load_deployment(data_home, DEV_CHAIN_ID)
    status: dict[str, Any] = {"running": chain_id is not None, "rpcUrl": chain.rpc_url, "pid": chain.pid()}
    if chain_id is not None:
        from web3 import Web3

        from registry.chain.connect import web3_for

        w3 = web3_for(chain.rpc_url)
        status["chainId"] = chain_id
        status["block"] = w3.eth.block_number
        if deployment is not None:
            status["registry"] = deployment.address
            status["registryHasCode"] = bool(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    if as_json:
        print_json(status)
    elif chain_id is None:
        console.out.print(f"dev chain not running (start it: modelseal chain up) - state file {chain.state_file}")
    else:
        console.out.print(f"dev chain {chain_id} at {chain.rpc_url}, head block {status['block']}")
        if deployment is not None:
            ok = "" if status.get("registryHasCode") else " - NO CODE (run `modelseal chain up` to redeploy)"
            console.out.print(f"registry {deployment.address}{ok}")
    if chain_id is None:
        raise typer.Exit(ExitCode.CHAIN)


def register(app: typer.Typer) -> None:
    app.add_typer(chain_app, name="chain")
