"""What the ``modelseal`` commands share: option types, the chain option set, and small helpers.

Command modules import this module; it imports no command module, so the CLI imports one way:
:mod:`registry.cli.app` -> command modules -> this module. Heavy libraries (web3, the signing
stack) are imported inside the helpers that need them, so ``modelseal --help`` stays fast.

Every command that talks to the chain takes the same four options, added by :func:`chain_options`:
``--rpc-url``, ``--registry``, ``--chain-id`` and ``--home`` (or ``MODELSEAL_RPC_URL``,
``MODELSEAL_REGISTRY``, ``MODELSEAL_CHAIN_ID``, ``MODELSEAL_HOME``). The command receives them as
one :class:`ChainTarget`.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from registry.errors import InputError, ManifestInvalid

if TYPE_CHECKING:
    from registry.chain.client import RegistryClient, TxResult
    from registry.hashing.model import ModelDigest
    from registry.names import ReleaseName
    from registry.settings import Settings
    from registry.signing.keys import Keystore
    from registry.signing.manifest import Manifest

# --- option types --------------------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        metavar="RULE",
        help="Ignore rule (repeatable), added to the defaults '.git/', '.modelseal/' and '.cache/huggingface': "
        "'name/' skips "
        "folders of that name, other rules are glob patterns on the path or base name of files and "
        "folders (a matched folder is skipped whole). Recorded in the manifest.",
    ),
]
NoDefaultIgnoreOpt = Annotated[
    bool,
    typer.Option(
        "--no-default-ignore",
        help="Do not apply the default ignore rules '.git/', '.modelseal/' and '.cache/huggingface'.",
    ),
]
FollowOpt = Annotated[
    bool, typer.Option("--follow-symlinks", help="Hash what symbolic links to files point to (refused by default).")
]
KeyOpt = Annotated[
    str, typer.Option("--key", "-k", help="Key name in the keystore (see `modelseal keys`) or a key file path.")
]
KeysDirOpt = Annotated[
    Path | None,
    typer.Option("--keystore", envvar="MODELSEAL_KEYS", help="Keystore folder [default: ~/.config/modelseal/keys]."),
]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data folder [env MODELSEAL_HOME; default ./.modelseal].")]
SignerKeyOpt = Annotated[str | None, typer.Option("--key", "-k", help="Key name in the keystore (its DID is used).")]
DidOpt = Annotated[str | None, typer.Option("--did", help="The DID itself, if the key is elsewhere.")]
RpcOpt = Annotated[
    str | None, typer.Option("--rpc-url", help="JSON-RPC URL [env MODELSEAL_RPC_URL; default the dev chain].")
]
RegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", help="Registry address [env MODELSEAL_REGISTRY; default: deployments record]."),
]
ChainIdOpt = Annotated[int | None, typer.Option("--chain-id", help="Refuse to run unless the RPC serves this chain.")]

# --- the chain option set ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainTarget:
    """The chain options of one command line; unset ones fall back to the environment."""

    rpc_url: str | None = None
    registry: str | None = None
    chain_id: int | None = None
    home: Path | None = None

    def overrides(self) -> dict[str, Any]:
        fields = {"rpc_url": self.rpc_url, "registry": self.registry, "chain_id": self.chain_id, "home": self.home}
        return {k: v for k, v in fields.items() if v is not None}

    def settings(self) -> Settings:
        """:class:`registry.settings.Settings` from the environment, with these options applied."""
        return settings(**self.overrides())

    def client(self) -> RegistryClient:
        """The registry these options name (:func:`registry.chain.connect.connect`)."""
        from registry.chain.client import RegistryClient

        return RegistryClient.from_settings(self.settings())


_CHAIN_PARAMS = (
    inspect.Parameter("rpc_url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=RpcOpt),
    inspect.Parameter("registry", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=RegistryOpt),
    inspect.Parameter("chain_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ChainIdOpt),
    inspect.Parameter("home", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=HomeOpt),
)

F = TypeVar("F", bound=Callable[..., Any])


def chain_options(func: F) -> F:
    """Give a command the chain option set: ``--rpc-url``, ``--registry``, ``--chain-id`` and
    ``--home`` are added to its options and it is called with ``chain=ChainTarget(...)``."""
    sig = inspect.signature(func, eval_str=True)
    own = [p for name, p in sig.parameters.items() if name != "chain"]
    if "chain" not in sig.parameters:
        raise TypeError(f"{func.__name__} must take a `chain: ChainTarget` parameter")

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        values = {p.name: kwargs.pop(p.name, None) for p in _CHAIN_PARAMS}
        return func(*args, chain=ChainTarget(**values), **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + list(_CHAIN_PARAMS)
    command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params} | {"return": sig.return_annotation}
    return command  # type: ignore[return-value]


# --- helpers -------------------------------------------------------------------------------


def settings(**overrides: Any) -> Settings:
    """The CLI's settings from the environment, with the given (non-None) fields replaced."""
    from registry.settings import Settings

    base = Settings()
    values = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=values) if values else base


def model_location(path: Path) -> Path:
    """A model argument: a file or folder, or ``hf:ORG/NAME[@REVISION]`` for a model in the local
    Hugging Face cache (its snapshot folder; nothing is downloaded)."""
    from registry.hashing.hfcache import is_hf_ref, resolve

    text = str(path)
    return Path(resolve(text)) if is_hf_ref(text) else path


def keystore(root: Path | None) -> Keystore:
    from registry.signing.keys import Keystore

    return Keystore(root, passphrase=ask_passphrase)


def ask_passphrase(prompt: str) -> str:
    """A key's passphrase: ``MODELSEAL_PASSPHRASE`` when set (scripts, CI), else asked on the
    terminal; with neither, an error - never a hang waiting for input that cannot come."""
    given = os.environ.get("MODELSEAL_PASSPHRASE")
    if given is not None:
        return given
    if not sys.stdin.isatty():
        from registry.errors import KeystoreError

        raise KeystoreError(
            "the key is sealed and there is no terminal to ask its passphrase", hint="set MODELSEAL_PASSPHRASE"
        )
    import getpass

    return getpass.getpass(prompt)


def new_passphrase(wanted: bool | None) -> str | None:
    """The passphrase to seal a new key with: ``MODELSEAL_PASSPHRASE``, or asked twice on a
    terminal; ``None`` (stored unsealed) when ``--no-passphrase`` or when there is neither."""
    if wanted is False:
        return None
    given = os.environ.get("MODELSEAL_PASSPHRASE")
    if given is not None:
        return given
    if not sys.stdin.isatty():
        if wanted:
            raise InputError(
                "--passphrase needs a terminal to ask it, or MODELSEAL_PASSPHRASE", hint="set MODELSEAL_PASSPHRASE"
            )
        return None
    import getpass

    first = getpass.getpass("passphrase for the new key (empty: none): ")
    if not first:
        return None
    if getpass.getpass("again: ") != first:
        raise InputError("the two passphrases differ; nothing was written", hint="run keygen again")
    return first


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_manifest(path: Path) -> Manifest:
    from registry.files import read_limited
    from registry.signing.manifest import MAX_MANIFEST_BYTES, Manifest

    return Manifest.from_json(read_limited(path, MAX_MANIFEST_BYTES, what="manifest", error=ManifestInvalid))


def hash_with_progress(path: Path, rules: Sequence[str], follow: bool, quiet: bool) -> ModelDigest:
    """Hash a model with exactly these ignore ``rules``, reading every byte (never the hash cache:
    docs/hashing.md), with a progress bar by bytes for big models on a terminal."""
    from registry.cli.hash_cmd import hash_with_bar
    from registry.hashing.model import model_digest, scan_model

    scan = scan_model(path, ignore=tuple(rules), follow_symlinks=follow)
    entries, weights = hash_with_bar(scan, label=f"hashing {path.name}", quiet=quiet, cache=None)
    return model_digest(scan, entries, weights)


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (it cannot be undone).")]


def confirm(action: str, yes: bool) -> None:
    """Ask before an action that can never be undone. ``--yes`` skips the question; without a
    terminal to ask on, the command refuses instead of waiting for an answer that cannot come."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{action} cannot be undone, and there is no terminal to confirm it", hint="pass --yes")
    if not typer.confirm(f"{action} cannot be undone. Go ahead?", default=False, err=True):
        raise InputError(f"{action}: not confirmed; nothing was sent", hint="pass --yes to skip the question")


def report_tx(as_json: bool, text: str, data: dict[str, Any], tx: TxResult) -> None:
    """What a command that sent one transaction prints: ``text`` and the transaction line, or with
    ``--json`` one object of ``data`` and the transaction (hash, sender, block, gas)."""
    if as_json:
        print_json({**data, **tx_json(tx)})
        return
    from registry.cli import console

    console.out.print(text)
    console.out.print(tx_line(tx))


def tx_line(tx: TxResult) -> str:
    return f"tx {tx.tx_hash} from {tx.sender} in block {tx.block} ({tx.gas_used} gas)"


def tx_json(tx: TxResult) -> dict[str, Any]:
    return {"tx": tx.tx_hash, "from": tx.sender, "block": tx.block, "gasUsed": tx.gas_used}


def did_from(key: str | None, did: str | None, keystore_dir: Path | None) -> str:
    """The DID of ``--key NAME`` or ``--did DID`` (exactly one of them)."""
    if (key is None) == (did is None):
        raise InputError("give exactly one of --key NAME or --did DID")
    if did is not None:
        from registry.signing.keys import did_method

        did_method(did)
        return did
    assert key is not None
    return keystore(keystore_dir).load(key).did


def parse_expiry(text: str, now: int) -> int:
    """``90d``, ``12h``, ``30m``, an ISO date/time (UTC) or unix seconds -> unix seconds (a uint64)."""
    value = _expiry_seconds(text, now)
    if not 0 <= value < 2**64:
        raise InputError(
            f"expiry {text!r} is outside what the chain records (0 to 2^64 - 1 unix seconds)",
            hint="use a duration like 90d or 12h, or a date like 2027-01-31",
        )
    return value


def _expiry_seconds(text: str, now: int) -> int:
    m = re.fullmatch(r"([0-9]{1,30})([smhdw])", text)
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return now + int(m.group(1)) * unit
    if re.fullmatch(r"[0-9]{1,30}", text):
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"cannot read expiry {text[:80]!r}",
            hint="use a duration like 90d or 12h, a date like 2027-01-31, or unix seconds",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def parse_scope(text: str) -> tuple[str, str, str | None]:
    """``ns/model`` (all versions) or ``ns/model/version`` (one release)."""
    from registry.names import ReleaseName, check_model, check_namespace

    parts = text.split("/", 2)
    if len(parts) == 2:
        return check_namespace(parts[0]), check_model(parts[1]), None
    if len(parts) == 3:
        r = ReleaseName(*parts)
        return r.namespace, r.model, r.version
    raise InputError(f"scope {text!r} is neither namespace/model nor namespace/model/version")


def parse_release(text: str) -> ReleaseName:
    from registry.names import ReleaseName

    return ReleaseName.parse(text)
