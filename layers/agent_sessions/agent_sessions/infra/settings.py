"""Environment parsed once into a model, so a missing variable fails loudly at start."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What every function reads from its environment."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=1)
    # How long one DynamoDB request may take to answer before botocore retries it. The local
    # runtime raises it: its emulator serves one request at a time, so a burst queues.
    dynamodb_read_timeout_seconds: float = Field(default=5.0, gt=0)


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process (TABLE_NAME is required)."""
    return Settings.model_validate(
        {
            "table_name": os.environ.get("TABLE_NAME", ""),
            "dynamodb_read_timeout_seconds": os.environ.get("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "5"),
        }
    )
