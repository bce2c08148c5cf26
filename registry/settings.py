"""Settings shared by the CLI and the library, read from ``MODELSEAL_*`` environment variables.

* ``MODELSEAL_HOME`` - the data folder (default ``./.modelseal``): dev chain state, deployments
  record, index database, hash cache, downloaded models.
* ``MODELSEAL_KEYS`` - the keystore folder (default ``~/.config/modelseal/keys``).
* ``MODELSEAL_DEBUG`` - ``1`` makes the CLI show tracebacks instead of one-line errors.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.keys import default_keystore_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELSEAL_", extra="ignore")

    home: Path = Field(default=Path(".modelseal"), description="data folder")
    keys: Path = Field(default_factory=default_keystore_dir, description="keystore folder")
    debug: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
