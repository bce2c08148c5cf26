"""Shared fixtures: a private keystore per test, small model folders, the real SmolLM2 file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.signing.keys import Ed25519Key, Keystore

REPO = Path(__file__).resolve().parent.parent
VECTORS = Path(__file__).resolve().parent / "vectors"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regen-golden", action="store_true", help="rewrite tests/golden files")


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keys")


@pytest.fixture
def publisher_key() -> Ed25519Key:
    return Ed25519Key.generate()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A small model folder: weights in a subfolder, a config, a tokenizer and a .git folder."""
    root = tmp_path / "model"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "model-00001.safetensors").write_bytes(os.urandom(200_000))
    (root / "weights" / "model-00002.safetensors").write_bytes(os.urandom(9 * 1024 * 1024))
    (root / "config.json").write_text('{"hidden": 64}\n')
    (root / "tokenizer.json").write_text('{"vocab": ["a", "b"]}\n')
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


@pytest.fixture(scope="session")
def smollm_model() -> Path:
    """The real SmolLM2 GGUF fetched by the Makefile (``MODELSEAL_TEST_MODEL``)."""
    path = Path(os.environ.get("MODELSEAL_TEST_MODEL", REPO / ".modelseal/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not path.is_file():
        pytest.fail(f"the SmolLM2 model is missing at {path}: run the tests through `make test`, which fetches it")
    return path


CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> CliRun:
    """Run the real ``modelseal`` entry point in a subprocess with a private keystore."""
    env = {**os.environ, "MODELSEAL_KEYS": str(tmp_path / "cli-keys"), "MODELSEAL_HOME": str(tmp_path / "home")}
    env.pop("MODELSEAL_DEBUG", None)

    def run(
        *args: str | Path, check: bool = False, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "registry", *map(str, args)],
            capture_output=True,
            text=True,
            env={**env, **(extra_env or {})},
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,  # no terminal, as in CI: nothing may wait for an answer
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"modelseal {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


# --- chains ----------------------------------------------------------------------------------
# The same chain tests run on the in-process EVM (py-evm through eth-tester), on a real anvil and
# on Hardhat's own node (EDR, a second EVM implementation) serving a chain id that is not a
# development chain, each started once per test session; each test deploys its own registry.

OTHER_CHAIN_ID = 424242
"""The Hardhat node's chain id: no development chain (``registry.chains.DEV_CHAIN_IDS``), so the
code paths of a public chain run there (anvil's well-known keys are refused, it has no name)."""


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from registry.chain.devchain import throwaway_anvil

    with throwaway_anvil("--chain-id", "31337", log=tmp_path_factory.mktemp("anvil") / "anvil.log") as url:
        yield url


@pytest.fixture(scope="session")
def hardhat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Hardhat node on chain :data:`OTHER_CHAIN_ID`, for the session (about a second to start)."""
    from registry.chain.devchain import throwaway_hardhat_node

    log = tmp_path_factory.mktemp("hardhat") / "hardhat-node.log"
    with throwaway_hardhat_node(chain_id=OTHER_CHAIN_ID, log=log) as url:
        yield url


def funded_accounts(w3: Any, count: int, wei: int = 10**21) -> list[Any]:
    """Fresh accounts with ``wei`` each on a Hardhat node (its own accounts have anvil's public
    keys, which modelseal refuses on a chain that is not a development chain)."""
    from eth_account import Account

    accounts = [Account.create() for _ in range(count)]
    for acct in accounts:
        assert w3.provider.make_request("hardhat_setBalance", [acct.address, hex(wei)])["result"] is True
    return accounts


class Chain:
    """A test chain: a Web3, funded accounts, a clock to move, and a fresh registry per call."""

    def __init__(self, kind: str, w3: Any, accounts: list[Any]) -> None:
        self.kind = kind
        self.w3 = w3
        self.accounts = accounts

    def deploy(self, account_index: int = 0) -> Any:
        from registry.chain.client import RegistryClient

        client, _ = RegistryClient.deploy(self.w3, self.accounts[account_index])
        return client

    def client_for(self, client: Any, account_index: int) -> Any:
        from registry.chain.client import RegistryClient

        return RegistryClient(
            self.w3,
            client.address,
            account=self.accounts[account_index],
            abi=client.abi,
            deploy_block=client.deploy_block,
        )

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block."""
        if self.kind in ("anvil", "hardhat"):
            self.w3.provider.make_request("evm_increaseTime", [seconds])
            self.w3.provider.make_request("evm_mine", [])
        else:
            tester = self.w3.provider.ethereum_tester
            tester.time_travel(int(self.w3.eth.get_block("latest")["timestamp"]) + seconds)
            tester.mine_blocks(1)


@pytest.fixture(params=["evm", "anvil", "hardhat"])
def chain(request: pytest.FixtureRequest) -> Chain:
    from eth_account import Account
    from web3 import Web3

    from registry.chain.client import ANVIL_DEV_KEYS

    if request.param == "hardhat":
        w3 = Web3(Web3.HTTPProvider(request.getfixturevalue("hardhat_url")))
        return Chain("hardhat", w3, funded_accounts(w3, 5))
    if request.param == "anvil":
        w3 = Web3(Web3.HTTPProvider(request.getfixturevalue("anvil_url")))
        return Chain("anvil", w3, [Account.from_key(k) for k in ANVIL_DEV_KEYS[1:6]])
    from web3 import EthereumTesterProvider

    w3 = Web3(EthereumTesterProvider())
    accounts = [Account.create() for _ in range(5)]
    for acct in accounts:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": acct.address, "value": 10**21})
    return Chain("evm", w3, accounts)


# --- databases -------------------------------------------------------------------------------
# The indexer tests run on SQLite and on a real PostgreSQL 15 started here (initdb + pg_ctl in a
# temp folder, bound to 127.0.0.1 on a free port, stopped at the end of the session).


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    from tools.postgres import throwaway_postgres

    try:
        with throwaway_postgres() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite'}"
    from tools.postgres import new_database

    return new_database(request.getfixturevalue("postgres_server"))
