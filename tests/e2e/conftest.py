"""The e2e suite runs against the one local runtime of the test session (tests/support/local_service)."""

from tests.support.local_service import DEV_KEYS as DEV_KEYS
from tests.support.local_service import LocalService as LocalService
