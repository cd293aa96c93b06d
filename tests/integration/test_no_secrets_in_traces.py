"""No token, key or secret reaches a trace or a log line.

Powertools' Tracer records a handler's response as X-Ray metadata unless told not to
(`capture_response=False`), and a created session's answer carries its token, a created
webhook's its secret. A recording provider stands in for X-Ray here and keeps everything the
handlers put on a (sub)segment; the logs are read at DEBUG. Every handler is checked, so taking
`capture_response=False` off any one of them fails this test.
"""

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_sessions.infra import observability, settings
from agent_sessions_local.handlers import FUNCTIONS_DIR, load_handler_module
from agent_sessions_local.instances import LocalLambdaContext
from tests.conftest import Invoke, load_event, with_credential


class RecordingSubsegment:
    def __init__(self, recorded: list[Any]) -> None:
        self._recorded = recorded

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self._recorded.append((key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        self._recorded.append((key, value))

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self._recorded.append(("exception", repr(exception)))


class RecordingProvider:
    """What the Tracer calls on X-Ray's recorder, kept in a list."""

    def __init__(self) -> None:
        self.recorded: list[Any] = []

    @contextlib.contextmanager
    def in_subsegment(self, name: str = "", **kwargs: Any) -> Iterator[RecordingSubsegment]:
        self.recorded.append(("subsegment", name))
        yield RecordingSubsegment(self.recorded)

    def put_annotation(self, key: str, value: Any) -> None:
        self.recorded.append((key, value))

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.recorded.append((key, value))


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RecordingProvider, io.StringIO]]:
    provider = RecordingProvider()
    monkeypatch.setattr(observability.tracer, "provider", provider)
    monkeypatch.setattr(observability.tracer.tracer, "disabled", False)  # as on Lambda with tracing on
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    observability.logger.addHandler(handler)
    level = observability.logger.log_level
    observability.logger.setLevel(logging.DEBUG)
    yield provider, logs
    observability.logger.removeHandler(handler)
    observability.logger.setLevel(level)


@pytest.fixture
def local_webhooks(kms_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "true")
    settings.load_settings.cache_clear()


def test_every_handler_is_traced_without_its_response() -> None:
    for app in sorted(FUNCTIONS_DIR.glob("*/app.py")):
        text = Path(app).read_text()
        assert any(
            decorator in text
            for decorator in ("@observed_http_handler", "@tracer.capture_lambda_handler(capture_response=False)")
        ), app.parent.name


def test_an_observed_http_handler_is_traced_without_its_response_and_logs_the_request_id(
    recording: tuple[RecordingProvider, io.StringIO],
) -> None:
    provider, _ = recording
    lines = io.StringIO()
    as_logged = logging.StreamHandler(lines)
    as_logged.setFormatter(observability.logger.registered_formatter)
    observability.logger.addHandler(as_logged)

    @observability.observed_http_handler
    def handler(event: Any, context: Any) -> dict[str, str]:
        observability.logger.info("answered")
        observability.metrics.add_metric(name="Answered", unit="Count", value=1)
        return {"session_token": "zai_session_hidden"}

    event = load_event("get_session")
    try:
        answer = handler(event, LocalLambdaContext(function_name="get_session"))
    finally:
        observability.logger.removeHandler(as_logged)
    assert answer["session_token"] == "zai_session_hidden"
    assert ("subsegment", "## handler") in provider.recorded
    assert "zai_session_hidden" not in repr(provider.recorded)
    logged = [json.loads(line) for line in lines.getvalue().splitlines() if '"answered"' in line]
    assert [line["correlation_id"] for line in logged] == [event["requestContext"]["requestId"]]


def test_created_tokens_keys_and_secrets_reach_no_trace_and_no_log(
    invoke: Invoke, local_webhooks: None, api_key: Any, recording: tuple[RecordingProvider, io.StringIO]
) -> None:
    provider, logs = recording
    created = invoke("create_session", with_credential(invoke, load_event("create_session"), api_key.api_key))
    token = created["json"]["session_token"]
    webhook_event = load_event("create_webhook")
    webhook_event["body"] = json.dumps({"url": "http://127.0.0.1:9/hook"})
    webhook = invoke("create_webhook", with_credential(invoke, webhook_event, api_key.api_key))
    secret = webhook["json"]["secret"]
    paid = invoke("create_payment", with_credential(invoke, load_event("create_payment"), token))
    assert (created["statusCode"], webhook["statusCode"], paid["statusCode"]) == (201, 201, 201)
    assert ("subsegment", "## lambda_handler") in provider.recorded  # the tracer did run
    traced = repr(provider.recorded) + json.dumps(provider.recorded, default=str)
    logged = logs.getvalue()
    assert "session created" in logged or "payment created" in logged  # the logs were read
    for value in (token, secret, api_key.api_key, token[len("zai_session_") + 25 :], secret.split("_", 1)[-1]):
        assert value not in traced
        assert value not in logged


def test_the_recording_provider_would_see_a_captured_response(
    recording: tuple[RecordingProvider, io.StringIO],
) -> None:
    """The check can fail: with capture_response on, the response is recorded."""
    provider, _ = recording

    @observability.tracer.capture_lambda_handler(capture_response=True)
    def handler(event: Any, context: Any) -> dict[str, str]:
        return {"session_token": "zai_session_visible"}

    handler({}, None)
    assert "zai_session_visible" in repr(provider.recorded)
    assert load_handler_module("create_session") is not None


def test_a_disabled_tracer_opens_no_subsegment(
    recording: tuple[RecordingProvider, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracing off (POWERTOOLS_TRACE_DISABLED, or outside Lambda): the handler runs, untraced."""
    provider, _ = recording
    monkeypatch.setattr(observability.tracer.tracer, "disabled", True)

    @observability.tracer.capture_lambda_handler(capture_response=False)
    def handler(event: Any, context: Any) -> str:
        return "answered"

    assert handler({}, None) == "answered"
    assert provider.recorded == []
    monkeypatch.setattr(observability.tracer.tracer, "disabled", False)
    assert handler({}, None) == "answered"
    assert ("subsegment", "## handler") in provider.recorded
