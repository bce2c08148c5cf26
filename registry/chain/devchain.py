"""A local development chain: anvil from the npm package, its state kept in the data folder.

Owns the anvil process and its files under ``<data folder>/chain/``: ``state.json`` (written
every ``--state-interval`` seconds and on a clean exit, so a crash loses at most that much),
``anvil.pid``, ``anvil.log``. anvil binds to 127.0.0.1 only. :func:`up` starts it (or finds it
running), deploys the registry once per chain state and records the deployment;
:func:`down` stops it cleanly so the state is saved.

For tests and benchmarks, :func:`throwaway_anvil` and :func:`throwaway_hardhat_node` (Hardhat's
own node: a second EVM implementation, on any chain id) run a fresh node without state on a free
port for the length of a ``with`` block.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from registry.chain.artifacts import REPO_ROOT, Deployment, load_artifact, load_deployment, save_deployment
from registry.errors import ChainError

DEV_CHAIN_ID = 31337
DEFAULT_PORT = 8545
STATE_INTERVAL = 1  # seconds between state snapshots


def anvil_binary() -> Path:
    env = os.environ.get("MODELSEAL_ANVIL")
    path = Path(env) if env else REPO_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if not path.is_file():
        raise ChainError(f"anvil not found at {path}", hint="install the npm packages: `npm install` (or `make setup`)")
    return path


@dataclass(frozen=True, slots=True)
class DevChain:
    home: Path
    port: int = DEFAULT_PORT

    @property
    def folder(self) -> Path:
        return self.home / "chain"

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.folder / "anvil.pid"

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def log_file(self) -> Path:
        return self.folder / "anvil.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def rpc_chain_id(self, timeout: float = 1.0) -> int | None:
        """The chain id the RPC answers with, or None if nothing answers."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        req = urllib.request.Request(self.rpc_url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(json.loads(resp.read())["result"], 16)
        except (OSError, ValueError, KeyError):
            return None


def start(chain: DevChain, *, wait: float = 15.0) -> int:
    """Start anvil in the background (or find it running); return its pid."""
    pid = chain.pid()
    if pid is not None and chain.rpc_chain_id() is not None:
        return pid
    if chain.rpc_chain_id() is not None:
        raise ChainError(
            f"something else already answers on {chain.rpc_url}",
            hint="stop it, or choose another port with --port",
        )
    chain.folder.mkdir(parents=True, exist_ok=True)
    args = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(chain.port),
        "--chain-id", str(DEV_CHAIN_ID),
        "--state", str(chain.state_file),
        "--state-interval", str(STATE_INTERVAL),
    ]  # fmt: skip
    with open(chain.log_file, "ab") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    chain.pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise _start_failed(chain, proc.returncode)
        if chain.rpc_chain_id(timeout=0.5) == DEV_CHAIN_ID:
            return proc.pid
        time.sleep(0.05)
    proc.kill()
    raise ChainError(f"anvil did not answer on {chain.rpc_url} within {wait:.0f} s; see {chain.log_file}")


def _start_failed(chain: DevChain, status: int) -> ChainError:
    """Why anvil would not start, in words: its log's last lines say, e.g., that the port is taken
    by something that does not speak JSON-RPC."""
    try:
        tail = chain.log_file.read_text(errors="replace").strip().splitlines()[-3:]
    except OSError:
        tail = []
    said = " ".join(tail)
    if "Address already in use" in said or "address in use" in said.lower():
        return ChainError(
            f"port {chain.port} is already in use by another program",
            hint="stop it, or start the dev chain on another port: modelseal chain up --port 8546",
        )
    return ChainError(
        f"anvil exited with status {status}" + (f": {said[-300:]}" if said else ""),
        hint=f"its whole log is {chain.log_file}",
    )


def stop(chain: DevChain, *, wait: float = 10.0) -> bool:
    """Stop anvil with SIGTERM (it writes its state on a clean exit). True if one was running."""
    pid = chain.pid()
    if pid is None:
        chain.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    chain.pid_file.unlink(missing_ok=True)
    return True


def ensure_registry(chain: DevChain, deployer_key: str) -> tuple[Deployment, bool]:
    """The registry on the dev chain, deployed if the record is missing, points at no code, or
    points at another build of the contract (a dev chain kept from an older modelseal: its
    releases stay on the old contract, and the record now names the new one).

    Returns the deployment and whether it was deployed now.
    """
    from web3 import Web3

    from registry.chain.client import RegistryClient, account_from_key
    from registry.chain.connect import web3_for

    w3 = web3_for(chain.rpc_url)
    existing = load_deployment(chain.home, DEV_CHAIN_ID)
    if existing is not None:
        code = bytes(w3.eth.get_code(Web3.to_checksum_address(existing.address)))
        expected = load_artifact().deployed_bytecode
        if code and (not expected or code == bytes.fromhex(expected.removeprefix("0x"))):
            return existing, False
    client, deployment = RegistryClient.deploy(w3, account_from_key(deployer_key, DEV_CHAIN_ID))
    save_deployment(chain.home, deployment, client.abi)
    return deployment, True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hardhat_command() -> list[str]:
    """``hardhat`` from the npm packages, on the Node 22 binary they ship (Hardhat 3 refuses the
    system's Node 20; calling it directly, not through ``npx``, leaves one process to stop)."""
    node = REPO_ROOT / "node_modules/.bin/node"
    cli = REPO_ROOT / "node_modules/hardhat/dist/src/cli.js"
    for path in (node, cli):
        if not path.is_file():
            raise ChainError(f"{path} not found", hint="install the npm packages: `npm install` (or `make setup`)")
    return [str(node), str(cli)]


@contextmanager
def _throwaway(
    what: str, argv: list[str], chain: DevChain, wait: float, log: Path | None, chain_id: int | None = None
) -> Iterator[str]:
    """Run ``argv`` (a node serving ``chain.rpc_url``) until the block ends; yields the URL once
    ``eth_chainId`` answers (with ``chain_id`` when given: not some other program that took the
    port meanwhile). Its output goes to ``log`` when given, else nowhere."""
    with open(log, "wb") if log is not None else open(os.devnull, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + wait
        while (answer := chain.rpc_chain_id(timeout=0.5)) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
                raise ChainError(f"a throwaway {what} did not start on {chain.rpc_url}{': ' + tail if tail else ''}")
            time.sleep(0.05)
        if chain_id is not None and answer != chain_id:
            raise ChainError(f"{chain.rpc_url} serves chain {answer}, not the throwaway {what}'s {chain_id}")
        yield chain.rpc_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def throwaway_anvil(*extra: str, wait: float = 15.0, log: Path | None = None) -> Iterator[str]:
    """A fresh anvil with no saved state on a free port (tests, benchmarks); yields its RPC URL.

    Its output goes to ``log`` when given (and the end of it into the error if anvil does not
    start), else nowhere."""
    chain = DevChain(Path("/nonexistent"), free_port())
    argv = [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(chain.port), *extra]
    with _throwaway("anvil", argv if log is not None else [*argv, "--silent"], chain, wait, log) as url:
        yield url


@contextmanager
def throwaway_hardhat_node(
    *, chain_id: int = DEV_CHAIN_ID, wait: float = 60.0, log: Path | None = None
) -> Iterator[str]:
    """A fresh Hardhat node (``hardhat node``: EDR, Hardhat's own EVM, another implementation
    than anvil) serving ``chain_id`` on 127.0.0.1 and a free port; yields its RPC URL.

    It keeps no state and mines a block per transaction. Beside the standard methods it answers
    ``evm_snapshot``/``evm_revert``, ``evm_mine``, ``evm_increaseTime``, ``hardhat_mine`` and
    ``hardhat_setBalance``; its accounts are anvil's well-known ones, so on a chain id that is not
    a development chain, fund fresh accounts with ``hardhat_setBalance``. Start-up takes about a
    second (Node and EDR load). Its output (a line per RPC call) goes to ``log`` when given."""
    chain = DevChain(Path("/nonexistent"), free_port())
    argv = [*hardhat_command(), "node", "--hostname", "127.0.0.1", "--port", str(chain.port)]
    with _throwaway("Hardhat node", [*argv, "--chain-id", str(chain_id)], chain, wait, log, chain_id) as url:
        yield url
