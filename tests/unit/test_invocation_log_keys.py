"""observed_http_handler logs what Powertools' own decorators would, and takes their path when it must.

The handler's log lines carry the keys Powertools' `inject_lambda_context` appends, the request
id among them as correlation_id. observed_http_handler appends them in one call; these tests hold
its lines equal, key for key, to those of Powertools' decorator, for drawn events,
Lambda contexts and initialisation types, on a first (cold) and later invocations.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging import logger as powertools_logger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.infra import observability
from agent_sessions_local.instances import LocalLambdaContext

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_REQUEST_CONTEXTS = st.one_of(
    st.fixed_dictionaries({"requestId": _TEXT}),
    st.fixed_dictionaries({"requestId": st.none() | st.integers()}),
    st.just({}),
    st.none(),
    _TEXT,
)
_EVENTS = st.one_of(
    st.fixed_dictionaries({"requestContext": _REQUEST_CONTEXTS}),
    st.just({}),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_CONTEXTS = st.builds(
    LocalLambdaContext,
    function_name=_TEXT,
    memory_limit_in_mb=st.integers(128, 10240),
    aws_request_id=st.uuids().map(str),
)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the shared logger writes at INFO, line by line, as it formats it."""
    lines = io.StringIO()
    capture = logging.StreamHandler(lines)
    capture.setFormatter(observability.logger.registered_formatter)
    observability.logger.addHandler(capture)
    level = observability.logger.log_level
    observability.logger.setLevel(logging.INFO)
    yield lines
    observability.logger.removeHandler(capture)
    observability.logger.setLevel(level)


def _answered(handler: Any, event: Any, context: Any, lines: io.StringIO) -> dict[str, Any]:
    """The line the handler logs, without its timestamp."""
    lines.seek(0)
    lines.truncate()
    assert handler(event, context) == "answered"
    logged = [json.loads(line) for line in lines.getvalue().split("\n") if line]
    assert len(logged) == 1
    logged[0].pop("timestamp")
    return dict(logged[0])


def _logging_handler(event: Any, context: Any) -> str:
    observability.logger.info("answered")
    return "answered"


def _as_powertools_decorates(handler: Any) -> Any:
    """Powertools' own decorator with the request id as correlation id, around the same layers."""
    traced = observability.tracer.capture_lambda_handler(handler, capture_response=False)
    return observability.logger.inject_lambda_context(
        observability.metrics_flushed(traced), correlation_id_path=correlation_paths.API_GATEWAY_HTTP
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    invocations=st.lists(st.tuples(_EVENTS, _CONTEXTS), min_size=2, max_size=3),
    initialisation=st.sampled_from([None, "on-demand", "provisioned-concurrency", "snap-start"]),
)
def test_the_log_lines_are_the_ones_powertools_decorator_gives(
    invocations: list[tuple[Any, LocalLambdaContext]],
    initialisation: str | None,
    log_lines: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        if initialisation is None:
            patch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
        else:
            patch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", initialisation)
        ours = observability.observed_http_handler(_logging_handler)
        theirs = _as_powertools_decorates(_logging_handler)
        assert ours.__wrapped__ is _logging_handler  # type: ignore[attr-defined]
        patch.setattr(observability, "cold_start", observability.ColdStart())
        patch.setattr(powertools_logger, "is_cold_start", True)
        ours_logged = [_answered(ours, event, context, log_lines) for event, context in invocations]
        observability.logger.remove_keys(["correlation_id", "cold_start"])
        theirs_logged = [_answered(theirs, event, context, log_lines) for event, context in invocations]
    assert ours_logged == theirs_logged
    assert ours_logged[0]["cold_start"] is (initialisation != "provisioned-concurrency")
    assert [line["cold_start"] for line in ours_logged[1:]] == [False] * (len(invocations) - 1)
    for line, (_, context) in zip(ours_logged, invocations, strict=True):
        assert line["function_request_id"] == context.aws_request_id


def test_with_log_event_set_the_event_is_logged_as_powertools_logs_it(
    log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    handler = observability.observed_http_handler(_logging_handler)
    event = {"requestContext": {"requestId": "req-1"}, "rawPath": "/api/v1/payments"}
    assert handler(event, LocalLambdaContext(function_name="f")) == "answered"
    logged = [json.loads(line) for line in log_lines.getvalue().split("\n") if line]
    assert [line["message"] for line in logged] == [event, "answered"]
    assert all(line["correlation_id"] == "req-1" for line in logged)


def test_with_a_sampling_rate_the_rate_is_drawn_again_each_warm_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[bool] = []
    monkeypatch.setattr(observability.logger, "sampling_rate", 0.5)
    monkeypatch.setattr(observability.logger, "refresh_sample_rate_calculation", lambda: drawn.append(True))
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)
    handler = observability.observed_http_handler(_logging_handler)
    for _ in range(3):
        handler({}, LocalLambdaContext(function_name="f"))
    assert drawn == [True, True]  # not on the cold start, as Powertools does
