"""Schemathesis against the local runtime: every operation, with valid credentials and without.

Every check runs (`--checks all`): no 5xx; every answer's status, content type and body match
openapi.json; schema-valid requests are accepted and schema-violating ones refused; a missing
credential is refused; an undeclared method gets 405; the stateful phase follows what it links.
The rules the document cannot state are in schemathesis.toml (a webhook host must resolve; a
payment's answer depends on its session's state) and schemathesis_hooks.py (a client makes one
Idempotency-Key per request).
`make test` runs a bounded number of examples per operation (a fixed seed, so a run repeats);
SCHEMATHESIS_EXAMPLES=200 makes it a long run, SCHEMATHESIS_SEED another one. (The CLI is used:
schemathesis's pytest plugin does not work with pytest 9.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalService

pytestmark = pytest.mark.e2e

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "5")
SEED = os.environ.get("SCHEMATHESIS_SEED", "2026")  # another seed explores other requests
CONFIG = Path(__file__).with_name("schemathesis.toml")
REPO_ROOT = Path(__file__).resolve().parents[2]


def run_schemathesis(service: LocalService, credential: str | None) -> subprocess.CompletedProcess[str]:
    header = ["-H", f"Authorization: Bearer {credential}"] if credential else []
    return subprocess.run(  # noqa: S603 - the schemathesis CLI from this virtualenv
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(CONFIG),
            "run",
            f"{service.base_url}/openapi.json",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--checks",
            "all",
            *header,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "SCHEMATHESIS_TELEMETRY": "false",
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
            "PYTHONPATH": str(REPO_ROOT),
        },
        cwd=REPO_ROOT,
    )


@pytest.mark.parametrize("credential", ["api key", "session token", "none"])
def test_every_operation_answers_per_the_document(local_service: LocalService, credential: str) -> None:
    secret = None
    if credential == "api key":
        secret = local_service.api_keys[0]
    elif credential == "session token":
        body = {"agent_id": "fuzz", "user_wallet": "w", "limits": {"max_per_day": 1000}}
        secret = local_service.call("POST", "/api/v1/ai/sessions", local_service.api_keys[0], json=body).json()[
            "session_token"
        ]
    done = run_schemathesis(local_service, secret)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "30 passed" in done.stdout  # every operation was exercised
