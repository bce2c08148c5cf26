"""Settings shared by the CLI, the library and the verifier, from ``MODELSEAL_*`` environment variables.

:class:`ChainSettings` names the chain and the data folder; every component that talks to the
chain (the CLI's chain commands, the indexer, the verifier service) reads these same fields and
connects through :func:`registry.chain.connect.connect`:

* ``MODELSEAL_HOME`` - the data folder (default ``./.modelseal``): dev chain state, deployments
  record, index database, hash cache, published manifests, downloaded models.
* ``MODELSEAL_RPC_URL`` - the chain's JSON-RPC URL (default ``http://127.0.0.1:8545``, the dev chain).
* ``MODELSEAL_CHAIN_ID`` - the chain id to expect (checked against the RPC; optional).
* ``MODELSEAL_REGISTRY`` - the registry's address (default: the deployments record for the chain).

:class:`Settings` adds what only the publisher/client CLI needs:

* ``MODELSEAL_KEYS`` - the keystore folder (default ``~/.config/modelseal/keys``).
* ``MODELSEAL_PRIVATE_KEY`` - the sending account's key, hex. Unset on the dev chain, anvil's first
  account is used; anvil's public keys are refused on any other chain.
* ``MODELSEAL_VERIFIER_URL`` - a verifier service: `verify` fetches an anchored manifest from it when
  none is at hand, `watch` follows its feed (default for `watch`: ``http://127.0.0.1:8000``).
* ``MODELSEAL_PASSPHRASE`` - the passphrase of sealed signing keys, for scripts (read by the CLI).

``MODELSEAL_DEBUG=1`` makes the CLI show tracebacks instead of one-line errors (read by
:mod:`registry.cli.entry` before any settings load).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.signing.keys import default_keystore_dir


class ChainSettings(BaseSettings):
    """Where the chain and the data folder are: the fields every chain client shares."""

    model_config = SettingsConfigDict(env_prefix="MODELSEAL_", extra="ignore", validate_assignment=True)

    home: Path = Field(default=Path(".modelseal"), description="data folder")
    rpc_url: str = Field(default="http://127.0.0.1:8545", description="JSON-RPC URL of the chain")
    chain_id: int | None = Field(default=None, description="expected chain id (checked against the RPC)")
    registry: str | None = Field(default=None, description="ModelRegistry address; default: the deployments record")


class Settings(ChainSettings):
    """The publisher/client CLI's settings."""

    keys: Path = Field(default_factory=default_keystore_dir, description="keystore folder")
    private_key: SecretStr | None = Field(default=None, description="sending account key (hex)")
    verifier_url: str | None = Field(
        default=None, description="a modelseal verifier service to fetch anchored manifests from (`verify`)"
    )
