"""The e2e suite runs against the one local runtime of the test session (tests/support/local_service)."""

from collections.abc import Iterator

import pytest

from tests.support.local_service import DEV_KEYS as DEV_KEYS
from tests.support.local_service import LocalService as LocalService
from tests.support.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (the local runtime delivers to loopback), stopped afterwards."""
    running = Receiver()
    yield running
    running.stop()
