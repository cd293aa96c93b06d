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

from agent_sessions_local.instances import Handler, LocalLambdaContext, load_handler
from agent_sessions_local.template import FunctionSpec


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
