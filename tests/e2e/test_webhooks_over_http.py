"""Webhooks against the local runtime: a receiver on 127.0.0.1 is called within seconds of a change."""

import hashlib
import hmac
import json
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.e2e.conftest import LocalService
from tests.e2e.test_cli_over_http import Cli
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e


def test_created_limit_reached_and_revoked_arrive_signed(
    local_service: LocalService, receiver: Receiver, tmp_path: Any
) -> None:
    key = local_service.api_keys[1]  # its own account: only its events reach this receiver
    cli = Cli(local_service, tmp_path / "config")
    events = ["agent.session.created", "agent.session.limit_reached", "agent.session.revoked"]
    added = cli("webhooks", "add", receiver.url, *[f"--event={name}" for name in events], "--json", "--api-key", key)
    assert added.returncode == 0, added.stderr
    webhook = json.loads(added.stdout)
    listed = cli("webhooks", "list", "--api-key", key)
    assert webhook["id"] in listed.stdout
    assert "whsec_" not in listed.stdout

    body = {"agent_id": "a", "user_wallet": "w", "limits": {"max_per_day": 10}}
    session = local_service.call("POST", "/api/v1/ai/sessions", key, json=body).json()
    created = receiver.wait_for("agent.session.created", session["id"])
    paid = local_service.call("POST", "/api/v1/payments", session["session_token"], json={"amount": 10})
    assert paid.status_code == 201
    limit = receiver.wait_for("agent.session.limit_reached", session["id"])
    assert limit["data"]["limit_reached"]["window"] == "day"
    local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", key)
    revoked = receiver.wait_for("agent.session.revoked", session["id"])
    assert {created["merchant_id"], limit["merchant_id"], revoked["merchant_id"]} == {created["merchant_id"]}

    verifier = Webhook(webhook["secret"])
    for headers, raw in receiver.requests:
        assert verifier.verify(raw, headers)["id"] == headers["x-zendfi-event-id"]
        expected = hmac.new(webhook["secret"].encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-zendfi-signature"], expected)
        assert "zai_session_" not in raw.decode()

    removed = cli("webhooks", "remove", webhook["id"], "--api-key", key)
    assert (removed.returncode, removed.stdout.strip()) == (0, "Removed.")
    assert cli("webhooks", "remove", webhook["id"], "--api-key", key).returncode == 1


def test_a_session_expires_by_itself_and_says_so(local_service: LocalService, receiver: Receiver) -> None:
    key = local_service.api_keys[1]
    added = local_service.call(
        "POST", "/api/v1/webhooks", key, json={"url": receiver.url, "events": ["agent.session.expired"]}
    )
    assert added.status_code == 201
    session = local_service.call(
        "POST", "/api/v1/ai/sessions", key, json={"agent_id": "a", "user_wallet": "w", "duration_hours": 0.0005}
    ).json()
    expired = receiver.wait_for("agent.session.expired", session["id"])
    assert expired["data"]["status"] == "expired"
    local_service.call("DELETE", f"/api/v1/webhooks/{added.json()['id']}", key)


def test_a_warning_near_the_limit_and_a_change_of_terms_arrive_once(
    local_service: LocalService, receiver: Receiver
) -> None:
    key = local_service.api_keys[1]
    events = ["agent.session.limit_warning", "agent.session.updated"]
    added = local_service.call("POST", "/api/v1/webhooks", key, json={"url": receiver.url, "events": events})
    assert added.status_code == 201
    body = {"agent_id": "a", "user_wallet": "w", "limits": {"max_per_day": 20}, "warn_at_percent": 50}
    session = local_service.call("POST", "/api/v1/ai/sessions", key, json=body).json()
    for amount in (9.99, 0.02, 1.5):  # 49.95 %, then 50.05 %, then more: one warning
        paid = local_service.call("POST", "/api/v1/payments", session["session_token"], json={"amount": amount})
        assert paid.status_code == 201
    warning = receiver.wait_for("agent.session.limit_warning", session["id"])
    assert warning["data"]["limit_warning"]["window"] == "day"
    assert warning["data"]["limit_warning"]["threshold_percent"] == 50
    patched = local_service.call(
        "PATCH", f"/api/v1/ai/sessions/{session['id']}", key, json={"limits": {"max_per_day": 15}},
        headers={"If-Match": '"0"'},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    updated = receiver.wait_for("agent.session.updated", session["id"])
    assert updated["data"]["changes"]["before"]["limits"]["max_per_day"] == 20
    assert updated["data"]["changes"]["after"]["limits"]["max_per_day"] == 15
    warnings = [
        raw for headers, raw in receiver.requests
        if json.loads(raw)["event"] == "agent.session.limit_warning" and json.loads(raw)["data"]["id"] == session["id"]
    ]  # fmt: skip
    assert len(warnings) == 1
    local_service.call("DELETE", f"/api/v1/webhooks/{added.json()['id']}", key)
