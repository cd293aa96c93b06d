"""`agent-sessions local --data-dir`: the data and webhook secrets survive a restart; nothing is announced twice."""

import contextlib
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_service import local_service_process
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e


def test_a_restart_keeps_the_data_and_the_webhook_secret_and_repeats_no_event(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, receiver: Receiver
) -> None:
    data = tmp_path / "data"
    with contextlib.contextmanager(local_service_process)(tmp_path_factory, "--data-dir", str(data)) as first:
        key = first.api_keys[1]
        webhook = first.call(
            "POST", "/api/v1/webhooks", key, json={"url": receiver.url, "events": ["agent.session.created"]}
        ).json()
        session = first.call("POST", "/api/v1/ai/sessions", key, json={"agent_id": "a", "user_wallet": "w"}).json()
        assert (
            first.call("POST", "/api/v1/payments", session["session_token"], json={"amount": 12.34}).status_code == 201
        )
        receiver.wait_for("agent.session.created", session["id"])
    assert (data / "table.jsonl").exists()
    assert oct((data / "webhook-secret.key").stat().st_mode)[-3:] == "600"
    delivered_before = len(receiver.requests)

    with contextlib.contextmanager(local_service_process)(tmp_path_factory, "--data-dir", str(data)) as second:
        # At once, first of all: the stream is read from after the restored records, and a record
        # written before its reader had found where that is was once skipped (the event lost).
        again = second.call("POST", "/api/v1/ai/sessions", key, json={"agent_id": "b", "user_wallet": "w"}).json()
        read = second.call("GET", f"/api/v1/ai/sessions/{session['id']}", key)
        assert read.status_code == 200
        assert read.json()["windows"]["day"]["spent"] == 12.34
        assert second.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["session_token"]).status_code == 200
        arrived: Any = receiver.wait_for("agent.session.created", again["id"])
        time.sleep(1.5)  # time enough for a restored record to be announced, were it to be
    created = [raw for _, raw in receiver.requests[delivered_before:]]
    assert len(created) == 1  # only the new session: the restored one is not announced again
    headers, raw = receiver.requests[-1]
    expected = hmac.new(webhook["secret"].encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-zendfi-signature"], expected)  # the secret opened after the restart
    assert arrived["data"]["id"] == again["id"]
