"""The one way to connect to the registry: settings in, a checked connection out.

The CLI's chain commands (through :meth:`registry.chain.client.RegistryClient.from_settings`), the
``modelseal check`` command, the indexer and the verifier service all call :func:`connect`, so they
agree on which chain and which registry they mean and refuse the same mistakes:

1. the JSON-RPC endpoint must answer (else :class:`~registry.errors.ChainError`, exit status 3);
2. it must serve the expected chain id when one is set (``MODELSEAL_CHAIN_ID`` / ``--chain-id``);
3. the registry address comes from the settings, or else from the deployments record that
   ``modelseal chain up`` writes for that chain id (which also gives the first block to index);
4. there must be contract code at that address.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from registry.chain.artifacts import load_deployment
from registry.errors import ChainError, InputError
from registry.settings import ChainSettings

RPC_TIMEOUT_SECONDS = 30
"""Read timeout of every JSON-RPC request."""


@dataclass(frozen=True)
class Connection:
    """A reachable chain and the registry on it."""

    w3: Web3
    rpc_url: str
    chain_id: int
    address: str
    """the registry, checksummed"""
    deploy_block: int
    """the block the registry was deployed in (0 when unknown): indexing starts there"""


def web3_for(rpc_url: str) -> Web3:
    """A Web3 instance on an HTTP JSON-RPC endpoint, with the project's timeout."""
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS}))


def connect(settings: ChainSettings, *, w3: Web3 | None = None) -> Connection:
    """Connect to the chain and registry the settings name (``w3`` overrides the RPC URL, for
    in-process chains in tests)."""
    url = settings.rpc_url
    w3 = w3 or web3_for(url)
    try:
        actual = int(w3.eth.chain_id)
    except Exception as exc:
        raise ChainError(f"cannot reach the chain at {url} ({type(exc).__name__})") from None
    if settings.chain_id is not None and actual != settings.chain_id:
        raise ChainError(f"{url} serves chain {actual}, not {settings.chain_id}", hint="check --rpc-url and --chain-id")
    address = settings.registry
    deploy_block = 0
    if address is None:
        deployment = load_deployment(settings.home, actual)
        if deployment is None:
            raise InputError(  # a missing setting (exit 2), not an unreachable chain (exit 3)
                f"no registry address for chain {actual} at {url}",
                hint="pass --registry 0x... (or MODELSEAL_REGISTRY), or start the dev chain: modelseal chain up",
            )
        address, deploy_block = deployment.address, deployment.block
    if not Web3.is_address(address):
        raise InputError(f"{address!r} is not an address", hint="pass --registry 0x... (40 hex digits)")
    checksummed = Web3.to_checksum_address(address)
    try:
        code = w3.eth.get_code(checksummed)
    except Exception as exc:
        raise ChainError(f"cannot read the chain at {url} ({type(exc).__name__})") from None
    if not code:
        raise ChainError(
            f"no contract at {address} on chain {actual}",
            hint="the dev chain may have been reset: run `modelseal chain up` (it redeploys)",
        )
    return Connection(w3, url, actual, checksummed, deploy_block)
