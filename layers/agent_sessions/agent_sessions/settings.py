"""Environment parsed once into a model, so a missing variable fails loudly at start."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What every function reads from its environment."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process (TABLE_NAME is required)."""
    return Settings(table_name=os.environ.get("TABLE_NAME", ""))
