"""Function instances as Lambda runs them: each in its own process, one invocation at a time.

A handler module keeps state at module and class level between invocations (Powertools' router
keeps the current event on its class, the logger its context), which is safe on Lambda because
an execution environment serves one request at a time. So here too: every instance is a process
of its own, forked from a server that has the heavy libraries imported already (so a new
instance starts in a few tens of milliseconds), and it is handed one event at a time over a pipe.
Concurrent requests get more instances, up to `max_instances` per function (Lambda's reserved
concurrency); beyond that a request waits for an instance to be free.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from agent_sessions_local.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
DEFAULT_MAX_INSTANCES = 8
# Imported once by the fork server, so each instance forks with them loaded (no handler state).
_PRELOAD = ["boto3", "botocore.session", "pydantic", "aws_lambda_powertools.event_handler", "aws_lambda_powertools"]
_log = logging.getLogger("agent_sessions_local.instances")


@dataclass(frozen=True)
class LocalLambdaContext:
    """The parts of Lambda's context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        """A made-up ARN naming the function."""
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Always plenty."""
        return 10_000


class InstanceFailed(RuntimeError):
    """The instance's process died or its handler raised past everything that catches errors."""


def load_handler(spec: FunctionSpec, module_name: str) -> Handler:
    """Import a function's module by path (as Lambda does) and return its handler."""
    module_spec = importlib.util.spec_from_file_location(module_name, spec.code_dir / spec.module_file)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    handler: Handler = getattr(module, spec.handler_name)
    return handler


def _serve(spec: FunctionSpec, environment: dict[str, str], connection: Connection) -> None:
    """An instance's process: load the handler in this environment, then answer one event at a time."""
    # Ctrl-C or a SIGTERM to the runtime's group is the runtime's to handle, not each instance's: it
    # ends them (by closing their pipe) after its workers stop, so no step meets a dead instance.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(environment)
    try:
        handler = load_handler(spec, f"local_fn_{spec.logical_id}")
    except BaseException as failure:
        connection.send((False, f"init failed: {type(failure).__name__}: {failure}"))
        return
    connection.send((True, "ready"))
    while True:
        try:
            event = connection.recv()
        except (EOFError, OSError):
            return
        try:
            connection.send((True, handler(event, LocalLambdaContext(function_name=spec.logical_id))))
        except BaseException as failure:
            connection.send((False, f"{type(failure).__name__}: {failure}"))


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


class FunctionInstance:
    """One execution environment: a process running one handler module."""

    def __init__(self, spec: FunctionSpec) -> None:
        self._spec = spec
        self._connection, child = multiprocessing.Pipe()
        self._process = _context().Process(
            target=_serve, args=(spec, dict(os.environ), child), daemon=True, name=f"fn-{spec.logical_id}"
        )
        self._process.start()
        child.close()
        self._answer()  # raises InstanceFailed when the module does not load

    def _answer(self) -> Any:
        try:
            ok, payload = self._connection.recv()
        except (EOFError, OSError) as exc:
            raise InstanceFailed(f"{self._spec.logical_id}: the instance's process ended") from exc
        if not ok:
            raise InstanceFailed(f"{self._spec.logical_id}: {payload}")
        return payload

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler on one event in this instance's process."""
        try:
            self._connection.send(event)
        except OSError as exc:  # stopped meanwhile (the runtime is shutting down)
            raise InstanceFailed(f"{self._spec.logical_id}: the instance was stopped") from exc
        answer: dict[str, Any] = self._answer()
        return answer

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return bool(self._process.is_alive())

    def stop(self) -> None:
        """End the process (closing the pipe ends its loop; a stuck one is killed by its PID)."""
        stop_instances([self])

    def end(self) -> None:
        """Close the pipe, which ends the instance's loop: its process then exits."""
        self._connection.close()

    def exited_by(self, deadline: float) -> bool:
        """Wait for the process to exit, until `deadline` (time.monotonic) at most; whether it has."""
        self._process.join(timeout=max(0.0, deadline - time.monotonic()))
        return not self._process.is_alive()

    def kill(self) -> None:
        """Kill the process by its PID and reap it."""
        self._process.kill()
        self._process.join(timeout=2)


def stop_instances(instances: Iterable[FunctionInstance], seconds: float = 2) -> None:
    """End instances together: every pipe closed first, then each waited for until one shared
    deadline; one still running then is killed by its PID.

    One at a time, each close-and-wait could take its whole wait on a busy machine, and the runtime
    has dozens of instances (the quick bench once gave up waiting 30 s for the runtime to stop).
    """
    instances = list(instances)
    for instance in instances:
        instance.end()
    deadline = time.monotonic() + seconds
    for instance in [instance for instance in instances if not instance.exited_by(deadline)]:
        instance.kill()


def kill_leftover_instances() -> int:
    """Kill any instance process still running once every pool is stopped; how many there were.

    One can be left: a queue batch's thread, which the stop does not wait for, may still be starting
    an instance for its pool (it ends that instance itself once started, but perhaps after this).
    One left would hold the runtime's exit forever: the interpreter waits for every child process at
    exit, and an instance ignores the SIGTERM it is sent then.
    """
    leftovers = [child for child in multiprocessing.active_children() if child.name.startswith("fn-")]
    for child in leftovers:
        _log.info("instance %s (pid %s) was still running at the stop; killed", child.name, child.pid)
        child.kill()
        child.join(timeout=2)
    return len(leftovers)


class FunctionPool:
    """The instances of one function: an idle one serves the next event, else a new one starts."""

    def __init__(self, spec: FunctionSpec, max_instances: int = DEFAULT_MAX_INSTANCES) -> None:
        self._spec = spec
        self._idle: queue.LifoQueue[FunctionInstance] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_instances)
        self._all: list[FunctionInstance] = []
        self._lock = threading.Lock()
        self._stopped = False

    @contextmanager
    def instance(self) -> Iterator[FunctionInstance]:
        """An idle instance, or a new one while under max_instances (else wait for one)."""
        with self._slots:
            try:
                instance = self._idle.get_nowait()
            except queue.Empty:
                instance = self._new_instance()
            try:
                yield instance
            finally:
                if instance.alive:
                    self._idle.put(instance)
                elif not self._stopped:
                    _log.warning("instance of %s ended; the next request starts a new one", self._spec.logical_id)

    def _new_instance(self) -> FunctionInstance:
        """A new instance of the pool's own; none once the pool is stopped (InstanceFailed).

        A worker's step or a queue batch can still be running when the runtime stops its pools. An
        instance started for it then would be no pool's to stop, and the interpreter's exit waits
        for every child process still running: the runtime would never end.
        """
        if not self._stopped:
            instance = FunctionInstance(self._spec)
            with self._lock:
                if not self._stopped:
                    self._all.append(instance)
                    return instance
            stop_instances([instance])  # the pool was stopped while this one started
        raise InstanceFailed(f"{self._spec.logical_id}: the runtime is stopping")

    def warm(self) -> None:
        """Start one instance ahead of the first request (as provisioned concurrency does)."""
        with self.instance():
            pass

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run the function on one event; InstanceFailed when its handler raised or its process died."""
        with self.instance() as instance:
            return instance.invoke(event)

    def stop(self) -> None:
        """Stop every instance."""
        stop_instances(self.take_all())

    def take_all(self) -> list[FunctionInstance]:
        """Every instance, no longer the pool's (to stop them with other pools', see stop_instances);
        the pool starts no instance after this."""
        with self._lock:
            self._stopped = True
            instances, self._all = self._all, []
            self._idle = queue.LifoQueue()  # none of them is handed out again
        return instances
