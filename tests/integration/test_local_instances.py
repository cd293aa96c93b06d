"""The local runtime's function instances: processes that the runtime alone ends."""

import multiprocessing
import os
import signal
import time

import pytest

from agent_sessions_local import instances as instances_module
from agent_sessions_local.instances import (
    FunctionInstance,
    FunctionPool,
    InstanceFailed,
    kill_leftover_instances,
    stop_instances,
)
from agent_sessions_local.template import functions, load_template


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_runtimes_group_leaves_an_instance_to_the_runtime(stop: signal.Signals) -> None:
    """Ctrl-C or SIGTERM to the whole group reaches each instance too: it must keep its process,
    so a worker's last step does not meet a dead instance; the runtime ends it by closing its pipe.
    """
    instance = FunctionInstance(functions(load_template())["GetSessionFunction"])
    try:
        os.kill(instance._process.pid, stop)
        time.sleep(0.3)
        assert instance.alive
    finally:
        instance.stop()
    assert not instance.alive
    assert instance._process.exitcode == 0  # its loop ended when the pipe closed; it was not killed


def test_instances_are_stopped_together_against_one_deadline() -> None:
    """Every pipe is closed before any instance is waited for, every wait ends at one shared deadline,
    and only an instance still running then is killed: stopping dozens of instances one by one, each
    with its own wait, once took the runtime past 30 s on a busy machine."""
    specs = functions(load_template())
    instances = [FunctionInstance(specs[name]) for name in ("GetSessionFunction", "ListSessionsFunction")]
    stuck = FunctionInstance(specs["RevokeSessionFunction"])
    os.kill(stuck._process.pid, signal.SIGSTOP)  # it cannot see its pipe close
    everyone = [*instances, stuck]
    steps: list[tuple[str, int, float | None]] = []
    for number, instance in enumerate(everyone):
        _record_steps(instance, number, steps)
    try:
        stop_instances(everyone, seconds=1)
    finally:
        if stuck.alive:  # only if the test failed before killing it
            os.kill(stuck._process.pid, signal.SIGCONT)
            stuck.stop()
    ends = [step for step in steps if step[0] == "end"]
    waits = [step for step in steps if step[0] == "wait"]
    assert [number for _, number, _ in ends] == list(range(len(everyone)))
    assert steps[: len(everyone)] == ends  # every pipe closed before the first wait
    assert len({deadline for _, _, deadline in waits}) == 1  # one deadline for all
    assert [number for kind, number, _ in steps if kind == "kill"] == [len(everyone) - 1]  # the stuck one alone
    assert not any(instance.alive for instance in everyone)
    assert [instance._process.exitcode for instance in instances] == [0, 0]  # ended by their pipe, not killed


def test_a_stopped_pool_starts_no_instance() -> None:
    """A worker's step or a queue batch still running when the runtime stops must not start an
    instance no pool would stop: the interpreter's exit waits for every running child process, and
    the runtime once hung there until the quick bench gave up on it."""
    pool = FunctionPool(functions(load_template())["GetSessionFunction"])
    pool.warm()
    pool.stop()
    before = set(multiprocessing.active_children())
    with pytest.raises(InstanceFailed, match="stopping"):
        pool.invoke({})
    assert set(multiprocessing.active_children()) <= before
    assert not [child for child in multiprocessing.active_children() if child.name.startswith("fn-")]


def test_an_instance_started_while_its_pool_stops_is_stopped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop can come between the pool's check and the new instance joining it."""
    pool = FunctionPool(functions(load_template())["GetSessionFunction"])
    started: list[FunctionInstance] = []

    def started_as_the_pool_stops(spec: object) -> FunctionInstance:
        instance = FunctionInstance(spec)  # type: ignore[arg-type]
        started.append(instance)
        pool.stop()
        return instance

    monkeypatch.setattr(instances_module, "FunctionInstance", started_as_the_pool_stops)
    with pytest.raises(InstanceFailed, match="stopping"):
        pool.invoke({})
    assert len(started) == 1
    assert not started[0].alive
    assert pool.take_all() == []


def test_an_instance_no_pool_stopped_is_killed_at_the_end() -> None:
    """The last guard of the runtime's exit: an instance process still running is killed, not waited on."""
    leftover = FunctionInstance(functions(load_template())["GetSessionFunction"])
    assert kill_leftover_instances() == 1
    assert not leftover.alive
    assert leftover._process.exitcode == -signal.SIGKILL
    assert kill_leftover_instances() == 0


def _record_steps(instance: FunctionInstance, number: int, steps: list[tuple[str, int, float | None]]) -> None:
    end, exited_by, kill = instance.end, instance.exited_by, instance.kill

    def recorded_end() -> None:
        steps.append(("end", number, None))
        end()

    def recorded_exited_by(deadline: float) -> bool:
        steps.append(("wait", number, deadline))
        return exited_by(deadline)

    def recorded_kill() -> None:
        steps.append(("kill", number, None))
        kill()

    instance.end, instance.exited_by, instance.kill = recorded_end, recorded_exited_by, recorded_kill  # type: ignore[method-assign]
