"""`agent-sessions local --data-dir`: every answered write survives the runtime being killed outright.

Two accounts' agents pay concurrently (drawn amounts with cents, some held for approval) until
every process of the runtime is killed with SIGKILL in the middle of the burst. After a restart
on the same directory, every payment that was answered is there as answered, each session's
counters are exactly its payments (nothing torn: never a payment without its debit, or a debit
without its payment), no limit is passed, the webhook secret still signs, and nothing restored is
announced again. A second runtime on the directory in use is refused in one line.
"""

import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_service import LocalService, local_service_process
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

SESSIONS_PER_ACCOUNT = 2
AGENTS = 6


def dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def exact(response: Any) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def pay(service: LocalService, token: str, cents: int) -> Any:
    body = f'{{"amount": {dollars(cents)}, "merchant_id": "m"}}'
    return service.call("POST", "/api/v1/payments", token, headers={"Content-Type": "application/json"}, data=body)


def open_sessions(service: LocalService, rng: random.Random) -> list[dict[str, Any]]:
    """Two sessions per account, each with a drawn daily limit and approval threshold."""
    sessions = []
    for key in service.api_keys[:2]:
        for number in range(SESSIONS_PER_ACCOUNT):
            # at least ten payments of up to $9.99 each fit: the kill comes mid-burst, not after the limits ended it
            limits = {"max_per_day": rng.randint(100, 300), "require_approval_above": rng.randint(3, 9)}
            created = service.call(
                "POST",
                "/api/v1/ai/sessions",
                key,
                json={"agent_id": f"a{number}", "user_wallet": "w", "limits": limits},
            )
            assert created.status_code == 201, created.text
            sessions.append({**created.json(), "key": key})
    return sessions


def burst_until_killed(
    service: LocalService, sessions: list[dict[str, Any]], seed: int, kill_after: int
) -> list[dict[str, Any]]:
    """Agents pay at once until the runtime's whole process group is killed, once `kill_after` were
    answered; the payments answered."""
    answered: list[dict[str, Any]] = []
    lock = threading.Lock()
    killed = threading.Event()

    def agent(number: int) -> None:
        rng = random.Random(seed + number)
        while not killed.is_set():
            session = rng.choice(sessions)
            try:
                answer = pay(service, session["session_token"], rng.randint(1, 999))
            except OSError:
                return  # the runtime is gone: this one's outcome is unknown, which is allowed
            if answer.status_code in (201, 202):
                with lock:
                    answered.append({**exact(answer), "key": session["key"]})

    agents = [threading.Thread(target=agent, args=(number,)) for number in range(AGENTS)]
    for thread in agents:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < kill_after and time.monotonic() < deadline:
        time.sleep(0.01)
    with lock:
        os.killpg(service.pid, signal.SIGKILL)  # the runtime, its embedded DynamoDB and its function instances
        killed.set()
        kept = list(answered)
    for thread in agents:
        thread.join(timeout=60)
    assert len(kept) >= kill_after
    return kept


def session_payments(service: LocalService, session: dict[str, Any]) -> list[dict[str, Any]]:
    payments: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = exact(
            service.call("GET", f"/api/v1/ai/sessions/{session['id']}/payments?limit=100{cursor}", session["key"])
        )
        payments += page["payments"]
        if not page["next_cursor"]:
            return payments
        cursor = f"&cursor={page['next_cursor']}"


def assert_consistent(service: LocalService, sessions: list[dict[str, Any]], answered: list[dict[str, Any]]) -> None:
    for payment in answered:
        read = service.call("GET", f"/api/v1/payments/{payment['id']}", payment["key"])
        assert read.status_code == 200, f"an answered payment was lost: {payment['id']}"
        kept = exact(read)
        assert (kept["amount"], kept["status"]) == (payment["amount"], payment["status"])
    for session in sessions:
        payments = session_payments(service, session)
        day = exact(service.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["key"]))["windows"]["day"]
        spent = sum((p["amount"] for p in payments if p["status"] == "authorized"), Decimal(0))
        held = sum((p["amount"] for p in payments if p["status"] == "pending_approval"), Decimal(0))
        assert (day["spent"], day["held"]) == (spent, held), session["id"]
        assert spent + held <= day["limit"]
        if day["remaining"] < day["limit"]:  # one cent past what is left is refused, after the restart too
            over = int(day["remaining"] * 100) + 1
            assert pay(service, session["session_token"], over).status_code == 402


def assert_a_second_runtime_is_refused(data: Path) -> None:
    """Two runtimes on one directory would write over each other's file: the second one says so and ends."""
    environment = {name: value for name, value in os.environ.items() if name != "TABLE_NAME"}
    command = [sys.executable, "-m", "agent_sessions_cli", "local", "--port", "0", "--data-dir", str(data)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment, check=False)  # noqa: S603
    assert refused.returncode == 1, refused.stderr
    assert "is in use by another agent-sessions local" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_every_answered_write_survives_a_kill_and_nothing_restored_is_announced_again(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, receiver: Receiver
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    data = tmp_path / "data"
    first = contextlib.contextmanager(local_service_process)(
        tmp_path_factory, "--data-dir", str(data), own_process_group=True
    )
    with first as service:
        key = service.api_keys[1]
        webhook = service.call(
            "POST", "/api/v1/webhooks", key, json={"url": receiver.url, "events": ["agent.session.created"]}
        ).json()
        sessions = open_sessions(service, rng)
        receiver.wait_for("agent.session.created", sessions[-1]["id"])
        answered = burst_until_killed(service, sessions, seed, kill_after=rng.randint(10, 30))
    assert oct((data / "webhook-secret.key").stat().st_mode)[-3:] == "600"
    assert oct((data / "table.jsonl").stat().st_mode)[-3:] == "600"
    delivered_before = len(receiver.requests)

    with contextlib.contextmanager(local_service_process)(tmp_path_factory, "--data-dir", str(data)) as second:
        # At once, first of all: the stream is read from after the restored records, and a record
        # written before its reader had found where that is was once skipped (the event lost).
        again = second.call("POST", "/api/v1/ai/sessions", key, json={"agent_id": "b", "user_wallet": "w"}).json()
        assert_consistent(second, sessions, answered)
        assert_a_second_runtime_is_refused(data)
        arrived: Any = receiver.wait_for("agent.session.created", again["id"])
        time.sleep(1.5)  # time enough for a restored record to be announced, were it to be
    created = [raw for _, raw in receiver.requests[delivered_before:]]
    assert len(created) == 1, f"seed {seed}"  # only the new session: the restored ones are not announced again
    headers, raw = receiver.requests[-1]
    expected = hmac.new(webhook["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-zendfi-signature"], expected)  # the secret opened after the restart
    assert arrived["data"]["id"] == again["id"]
