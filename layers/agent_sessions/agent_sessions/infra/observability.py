"""The Powertools logger, metrics and tracer every function shares (one namespace, one service).

The tracer is Powertools' Tracer, made when a handler is first invoked rather than when its module
is imported: making it imports the X-Ray SDK, whose sampling client builds a botocore session, the
largest single cost of a handler's import. Everything the Tracer records is kept (the handler's
subsegment, its cold-start and service annotations, exceptions, and botocore patched for DynamoDB
subsegments); the X-Ray SDK's import moves from the init phase into the first invocation's own
segment, where it is visible.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.correlation_paths import API_GATEWAY_HTTP
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared.constants import (
    LAMBDA_INITIALIZATION_TYPE,
    LOGGER_LOG_EVENT_ENV,
    METRICS_DISABLED_ENV,
    POWERTOOLS_DEV_ENV,
)
from aws_lambda_powertools.shared.functions import strtobool

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE_NAME = "agent-sessions"


class InvocationMetrics(Metrics):
    """Powertools' Metrics, which drops a metric where it is added while `dropping` (an invocation
    with metrics disabled, see metrics_flushed) instead of adding it to a set that is then cleared."""

    dropping = False

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        """Powertools' add_metric; nothing while `dropping`."""
        if not self.dropping:
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)


logger = Logger(service=SERVICE_NAME)
metrics = InvocationMetrics(namespace="AgentSessions", service=SERVICE_NAME)

Handler = Callable[[Any, Any], Any]


class DeferredTracer:
    """Powertools' Tracer for one service, made on first use (the first traced invocation)."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._tracer: Tracer | None = None

    @property
    def tracer(self) -> Tracer:
        """The Powertools Tracer (imports the X-Ray SDK the first time)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self._service)
        return self._tracer

    @property
    def provider(self) -> Any:
        """The recorder the Tracer writes to (tests stand a recording one in)."""
        return self.tracer.provider

    @provider.setter
    def provider(self, value: Any) -> None:
        self.tracer.provider = value

    def capture_lambda_handler(
        self, lambda_handler: Handler | None = None, capture_response: bool | None = None
    ) -> Any:
        """Tracer.capture_lambda_handler, applied when the handler is first invoked.

        While the Tracer is disabled (POWERTOOLS_TRACE_DISABLED, or outside Lambda) the handler is
        called as it is: a disabled Tracer still opens a subsegment of the X-Ray SDK's on every
        invocation, which the disabled SDK then drops, so skipping it records exactly the same.
        """

        def decorate(handler: Handler) -> Handler:
            traced: Handler | None = None

            @functools.wraps(handler)
            def invoke(event: Any, context: Any) -> Any:
                nonlocal traced
                if traced is None:
                    traced = self.tracer.capture_lambda_handler(handler, capture_response=capture_response)
                if self.tracer.disabled:
                    return handler(event, context)
                return traced(event, context)

            return invoke

        return decorate(lambda_handler) if lambda_handler is not None else decorate


tracer = DeferredTracer(service=SERVICE_NAME)


def observed_http_handler(handler: Handler) -> Handler:
    """What every HTTP handler wears, outermost first: the logger's Lambda context and correlation id,
    metrics flushed after each invocation, and the Tracer's handler subsegment (never with the
    response, which can carry a token or a secret).

    The logger's keys are the ones Powertools' `inject_lambda_context(correlation_id_path=
    API_GATEWAY_HTTP)` appends (cold_start, the Lambda context's four function_* keys, and API
    Gateway's request id as correlation_id), appended in one call and read straight from the event
    instead of through a JMESPath query (about 3 µs warm, against Powertools' 11). Powertools'
    decorator is used as it is when its other work is asked for: logging each event
    (POWERTOOLS_LOGGER_LOG_EVENT) or a debug sampling rate (POWERTOOLS_LOGGER_SAMPLE_RATE).
    """
    flushed = metrics_flushed(tracer.capture_lambda_handler(handler, capture_response=False))
    if logger.sampling_rate or strtobool(os.getenv(LOGGER_LOG_EVENT_ENV, "false")):
        decorated: Handler = logger.inject_lambda_context(flushed, correlation_id_path=API_GATEWAY_HTTP)
        return decorated

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        request_context = event.get("requestContext") if isinstance(event, dict) else None
        logger.append_keys(
            cold_start=cold_start.take(),
            function_name=context.function_name,
            function_memory_size=context.memory_limit_in_mb,
            function_arn=context.invoked_function_arn,
            function_request_id=context.aws_request_id,
            correlation_id=request_context.get("requestId") if isinstance(request_context, dict) else None,
        )
        return flushed(event, context)

    return invoke


class ColdStart:
    """Whether an invocation is this process's first, as Powertools' logger says it: never under
    provisioned concurrency, whose instances are initialised before any request comes."""

    def __init__(self) -> None:
        self._first = True

    def take(self) -> bool:
        """True for the first invocation only (and never under provisioned concurrency)."""
        if not self._first:
            return False
        self._first = False
        return os.getenv(LAMBDA_INITIALIZATION_TYPE) != "provisioned-concurrency"


cold_start = ColdStart()


def metrics_flushed(handler: Handler) -> Handler:
    """`metrics.log_metrics`: the invocation's metrics flushed as one EMF line after it.

    With metrics disabled (POWERTOOLS_METRICS_DISABLED: the local runtime, the tests) each metric
    is dropped as it is added, and anything else added is cleared after the invocation. Powertools'
    disabled flush keeps them, so the set grows until a metric holds 100 values, which Powertools
    then prints as an EMF line anyway, and every add formats the whole growing set into a debug
    message.
    """
    logged = metrics.log_metrics(handler)

    @functools.wraps(handler)
    def invoke(event: Any, context: Any) -> Any:
        if not metrics_disabled():
            return logged(event, context)
        metrics.dropping = True
        try:
            return handler(event, context)
        finally:
            metrics.dropping = False
            metrics.clear_metrics()  # what else was added (a dimension, metadata)

    return invoke


def metrics_disabled() -> bool:
    """Powertools' `is_metrics_disabled()`, worked out once per value of the two variables it reads
    (read again on every invocation, so a change to them still counts)."""
    return _metrics_disabled_with(os.environ.get(POWERTOOLS_DEV_ENV), os.environ.get(METRICS_DISABLED_ENV))


@functools.lru_cache(maxsize=16)
def _metrics_disabled_with(dev: str | None, disabled: str | None) -> bool:
    """is_metrics_disabled() while the environment holds these values (the cache's key)."""
    return is_metrics_disabled()
