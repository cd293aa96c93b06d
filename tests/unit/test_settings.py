"""Every variable in one model, parsed once; a missing or invalid one names itself at init."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from agent_sessions.infra import settings
from agent_sessions_local.template import PROJECT_ROOT


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    settings.load_settings.cache_clear()
    yield
    settings.load_settings.cache_clear()


def test_a_missing_table_name_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME")
    with pytest.raises(settings.SettingsError, match="TABLE_NAME"):
        settings.load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "soon"),
        ("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "-1"),
        ("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "perhaps"),
        ("AGENT_SESSIONS_IDENTITY_PROVIDER", "hsm"),
    ],
)
def test_an_invalid_value_is_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(settings.SettingsError, match=variable):
        settings.load_settings()


def test_a_function_names_what_it_requires(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_BUS_NAME")
    assert settings.require_settings().table_name == os.environ["TABLE_NAME"]
    with pytest.raises(settings.SettingsError, match="EVENT_BUS_NAME"):
        settings.require_settings("event_bus_name")


def test_a_handler_without_its_variable_stops_at_init() -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVENT_BUS_NAME"}
    code = (
        "import importlib.util, sys;"
        f"spec = importlib.util.spec_from_file_location('app', r'{PROJECT_ROOT / 'functions/publish_events/app.py'}');"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode != 0
    assert "EVENT_BUS_NAME is required" in result.stderr
