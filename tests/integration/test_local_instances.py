"""The local runtime's function instances: processes that the runtime alone ends."""

import os
import signal
import time

import pytest

from agent_sessions_local.instances import FunctionInstance
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
