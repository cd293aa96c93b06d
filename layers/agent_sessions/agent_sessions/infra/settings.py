"""Every environment variable a function reads, declared once, parsed once, checked at init.

A handler names what it needs at import (`require_settings("event_bus_name")`), so a missing
or invalid variable stops the function at init with a message naming the variable, rather than
failing the first request that happens to need it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SettingsError(RuntimeError):
    """An environment variable is missing or invalid; the message names it."""


class Settings(BaseModel):
    """What the functions read from their environment (each field's alias is its variable)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME", min_length=1)
    webhook_key_id: str | None = Field(default=None, alias="WEBHOOK_KEY_ID", min_length=1)
    # The webhook deliveries' dead-letter queue (the console shows how many events wait there).
    delivery_dlq_url: str | None = Field(default=None, alias="DELIVERY_DLQ_URL", min_length=1)
    # The console: off unless set (a deployment turns it on with the template's EnableConsole).
    console_enabled: bool = Field(default=False, alias="AGENT_SESSIONS_CONSOLE")
    identity_provider: str = Field(default="local", alias="AGENT_SESSIONS_IDENTITY_PROVIDER", pattern="^local$")
    # The local runtime allows plain-HTTP webhooks to loopback receivers.
    allow_local_webhooks: bool = Field(default=False, alias="AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS")
    # How long one DynamoDB request may take to answer before botocore retries it. The local
    # runtime raises it: its emulator serves one request at a time, so a burst queues.
    dynamodb_read_timeout_seconds: float = Field(default=5.0, gt=0, alias="AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT")

    def required(self, name: str) -> str:
        """A setting this function cannot run without; SettingsError naming its variable if unset."""
        value = getattr(self, name)
        if value is None:
            raise SettingsError(f"{variable_name(name)} is required by this function and is not set")
        return str(value)


def variable_name(field_name: str) -> str:
    """The environment variable behind a setting."""
    alias = Settings.model_fields[field_name].alias
    return alias or field_name.upper()


def _from_environment() -> dict[str, Any]:
    names = {field.alias or name for name, field in Settings.model_fields.items()}
    return {name: os.environ[name] for name in names if os.environ.get(name, "") != ""}


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process, parsed once; SettingsError naming each bad variable."""
    try:
        return Settings.model_validate(_from_environment())
    except ValidationError as invalid:
        problems = "; ".join(
            f"{error['loc'][0]}: {'is required and is not set' if error['type'] == 'missing' else error['msg']}"
            for error in invalid.errors()
        )
        raise SettingsError(f"invalid environment: {problems}") from None


def require_settings(*names: str) -> Settings:
    """At a handler's init: the settings, with each of `names` present (SettingsError otherwise)."""
    settings = load_settings()
    for name in names:
        settings.required(name)
    return settings
