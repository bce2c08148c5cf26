"""Which chain is this? Names for the chain ids people meet, and which ids are development chains.

A verdict says which chain its facts come from (:class:`registry.verdict.ChainView`): a release
anchored on a throwaway development chain proves nothing to anyone else, so such a chain is
named as one and warned about. Ids are from the chains' own documentation (chainlist.org lists
the same); an id not listed here is shown as its number.
"""

from __future__ import annotations

from typing import Final

DEV_CHAIN_IDS: Final = frozenset({31337, 1337, 131277322940537})
"""anvil / Hardhat, Geth --dev and py-evm (eth-tester): chains anyone can run locally, where the
well-known development keys are fine."""

CHAIN_NAMES: Final = {
    1: "Ethereum",
    10: "OP Mainnet",
    137: "Polygon PoS",
    8453: "Base",
    42161: "Arbitrum One",
    17000: "Holesky (test network)",
    560048: "Hoodi (test network)",
    11155111: "Sepolia (test network)",
    31337: "development chain (anvil / Hardhat)",
    1337: "development chain (Geth --dev)",
    131277322940537: "development chain (eth-tester)",
}


def chain_name(chain_id: int) -> str:
    """A person's name for the chain: ``"Ethereum"``, ``"development chain (anvil / Hardhat)"``, or
    ``"chain 12345"`` for an id not listed."""
    return CHAIN_NAMES.get(chain_id, f"chain {chain_id}")


def is_development(chain_id: int) -> bool:
    return chain_id in DEV_CHAIN_IDS
