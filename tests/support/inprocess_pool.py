"""Handler instances as threads of the test process, for the concurrency suite.

The local runtime runs each instance in a process of its own (agent_sessions_local.instances),
which is what isolates concurrent requests. The concurrency suite measures something else,
DynamoDB's atomicity under a burst, and needs to reach into an instance (a clock that straddles
midnight), so it keeps its instances in-process: many at once, each one request at a time.
"""

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from agent_sessions.domain.jsonio import parse_json_object_body
from agent_sessions.http.direct_route import DirectRoute
from agent_sessions_local.instances import Handler, LocalLambdaContext, load_handler
from agent_sessions_local.template import FunctionSpec

# Powertools keeps the request being resolved on a class attribute (BaseRouter.current_event): right
# on Lambda, one request per process, but threads of one process would read each other's requests
# (a PATCH's handler once validated a payment's body). Here each thread keeps its own, whether the
# resolver or the payment's DirectRoute answers the request. (This process-wide patch stays for the
# rest of the test process, so both must keep working with it.)
_per_thread = threading.local()
_resolve = APIGatewayHttpResolver.resolve


def _current_event(self: APIGatewayHttpResolver) -> Any:
    return _per_thread.event


def _set_current_event(self: APIGatewayHttpResolver, value: Any) -> None:
    _per_thread.event = value


def _resolve_in_this_thread(self: APIGatewayHttpResolver, event: Any, context: Any) -> Any:
    _per_thread.event = self._to_proxy_event(event)
    return _resolve(self, event, context)


_answer_directly = DirectRoute.answer


def _answer_directly_in_this_thread(self: DirectRoute, event: dict[str, Any], context: Any) -> dict[str, Any]:
    _per_thread.event = APIGatewayProxyEventV2(event, parse_json_object_body)
    return _answer_directly(self, event, context)


APIGatewayHttpResolver.current_event = property(_current_event, _set_current_event)  # type: ignore[assignment]
APIGatewayHttpResolver.resolve = _resolve_in_this_thread  # type: ignore[method-assign]
DirectRoute.answer = _answer_directly_in_this_thread  # type: ignore[method-assign]


class InProcessPool:
    """Instances of one handler module in this process; each serves a single request at a time."""

    def __init__(self, spec: FunctionSpec) -> None:
        self._spec = spec
        self._idle: queue.LifoQueue[Handler] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def _new_instance(self) -> Handler:
        with self._lock:
            self._created += 1
            module_name = f"test_fn_{self._spec.logical_id}_{self._created}"
        return load_handler(self._spec, module_name)

    @contextmanager
    def instance(self) -> Iterator[Handler]:
        """An idle instance, or a new one when all are busy."""
        try:
            handler = self._idle.get_nowait()
        except queue.Empty:
            handler = self._new_instance()
        try:
            yield handler
        finally:
            self._idle.put(handler)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler on one event."""
        with self.instance() as handler:
            return handler(event, LocalLambdaContext(function_name=self._spec.logical_id))
