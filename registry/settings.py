"""Settings shared by the CLI and the library, read from ``MODELSEAL_*`` environment variables.

* ``MODELSEAL_HOME`` - the data folder (default ``./.modelseal``): dev chain state, deployments
  record, index database, hash cache, published manifests, downloaded models.
* ``MODELSEAL_KEYS`` - the keystore folder (default ``~/.config/modelseal/keys``).
* ``MODELSEAL_RPC_URL`` - the chain's JSON-RPC URL (default ``http://127.0.0.1:8545``, the dev chain).
* ``MODELSEAL_CHAIN_ID`` - the chain id to expect (checked against the RPC; optional).
* ``MODELSEAL_REGISTRY`` - the registry's address (default: the deployments record for the chain).
* ``MODELSEAL_PRIVATE_KEY`` - the sending account's key, hex. Unset on the dev chain, anvil's first
  account is used; anvil's public keys are refused on any other chain.
* ``MODELSEAL_DEBUG`` - ``1`` makes the CLI show tracebacks instead of one-line errors.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.keys import default_keystore_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELSEAL_", extra="ignore")

    home: Path = Field(default=Path(".modelseal"), description="data folder")
    keys: Path = Field(default_factory=default_keystore_dir, description="keystore folder")
    rpc_url: str = Field(default="http://127.0.0.1:8545", description="JSON-RPC URL of the chain")
    chain_id: int | None = Field(default=None, description="expected chain id")
    registry: str | None = Field(default=None, description="ModelRegistry address")
    private_key: SecretStr | None = Field(default=None, description="sending account key (hex)")
    debug: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
