"""The issue's walk-through, over real HTTP against the local runtime."""

import json
import re

import pytest

from tests.e2e.conftest import LocalService

pytestmark = pytest.mark.e2e


def test_create_read_list_and_revoke_a_session_with_tenancy(local_service: LocalService) -> None:
    key, other_key = local_service.api_keys[:2]
    body = {
        "agent_id": "shopping-bot",
        "user_wallet": "Hx7B...abc",
        "limits": {"max_per_day": 200},
        "duration_hours": 24,
    }
    created = local_service.call("POST", "/api/v1/ai/sessions", key, json=body)
    assert created.status_code == 201
    session = created.json()
    assert session["session_token"].startswith("zai_session_")

    read = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", key)
    assert read.status_code == 200
    assert read.json()["remaining_today"] == read.json()["limits"]["max_per_day"] == 200

    by_token = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["session_token"])
    assert by_token.status_code == 200

    listed = local_service.call("GET", "/api/v1/ai/sessions", key)
    assert session["id"] in [s["id"] for s in listed.json()["sessions"]]

    revoked = local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", key)
    assert revoked.status_code == 200
    assert revoked.json()["session"]["is_active"] is False

    token_after = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["session_token"])
    assert token_after.status_code == 403
    assert token_after.json()["error"]["code"] == "SESSION_REVOKED"

    assert local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", other_key).status_code == 404
    assert local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", other_key).status_code == 404
    other_list = local_service.call("GET", "/api/v1/ai/sessions", other_key).json()["sessions"]
    assert session["id"] not in [s["id"] for s in other_list]


def test_a_token_works_on_the_very_next_request(local_service: LocalService) -> None:
    key = local_service.api_keys[0]
    for _ in range(5):
        session = local_service.call(
            "POST", "/api/v1/ai/sessions", key, json={"agent_id": "a", "user_wallet": "w"}
        ).json()
        read = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["session_token"])
        assert read.status_code == 200


@pytest.mark.parametrize(
    ("raw_body", "field"),
    [
        ('{"agent_id": "a", "user_wallet": "w", "limits": {"max_per_day": -1}}', "limits.max_per_day"),
        ('{"agent_id": "a", "user_wallet": "w", "limits": {"max_per_day": 1.005}}', "limits.max_per_day"),
        ('{"agent_id": "a", "user_wallet": "w", "duration_hours": 0}', "duration_hours"),
        ('{"agent_id": "a", "user_wallet": "w", "duration_hours": 169}', "duration_hours"),
        ('{"user_wallet": "w"}', "agent_id"),
        ('{"agent_id": "", "user_wallet": "w"}', "agent_id"),
        ('{"agent_id": "a", "user_wallet": "w", "extra": true}', "extra"),
        ('[{"agent_id": "a", "user_wallet": "w"}]', "body"),
        ('{"agent_id": "a", ', "body"),
        (json.dumps({"agent_id": "a", "user_wallet": "w", "metadata": {"x": "y" * 2 * 1024 * 1024}}), "body"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(local_service: LocalService, raw_body: str, field: str) -> None:
    response = local_service.call(
        "POST",
        "/api/v1/ai/sessions",
        local_service.api_keys[0],
        data=raw_body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    "credential", [None, "zfi_test_" + "n" * 43, "garbage", "zai_session_" + "a" * 24 + "_" + "b" * 43]
)
def test_a_missing_or_unknown_credential_is_401(local_service: LocalService, credential: str | None) -> None:
    for method, path in (("GET", "/api/v1/ai/sessions"), ("POST", "/api/v1/ai/sessions")):
        response = local_service.call(method, path, credential, json={"agent_id": "a", "user_wallet": "w"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_the_local_runtime_serves_its_openapi_document_and_docs(local_service: LocalService) -> None:
    document = local_service.call("GET", "/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")
    assert "/api/v1/payments" in document.json()["paths"]
    docs = local_service.call("GET", "/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert "http" not in docs.text.replace("http-equiv", "")  # every asset from this server: works offline
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', docs.text):
        served = local_service.call("GET", asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 0
    bundle = local_service.call("GET", "/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert local_service.call("GET", "/docs/assets/../../template.yaml").status_code == 404
    root = local_service.call("GET", "/", allow_redirects=False)
    assert (root.status_code, root.headers["Location"]) == (302, "/console")


def test_a_known_path_with_an_undeclared_method_is_405_naming_the_allowed_ones(local_service: LocalService) -> None:
    for method, path, allowed in (
        ("TRACE", "/api/v1/payments", "GET, POST"),
        ("PUT", "/api/v1/ai/sessions", "GET, POST"),
        ("DELETE", "/api/v1/ai/sessions/sess_" + "a" * 24, "GET, PATCH"),
        ("GET", "/api/v1/payments/check", "POST"),  # a literal path is not a payment id
    ):
        answer = local_service.call(method, path, local_service.api_keys[0])
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["Allow"] == allowed
        assert answer.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert local_service.call("GET", "/api/v1/nowhere", local_service.api_keys[0]).status_code == 404


def test_any_cursor_of_the_documented_pattern_is_a_position(local_service: LocalService) -> None:
    key = local_service.api_keys[1]
    for _ in range(3):
        local_service.call("POST", "/api/v1/ai/sessions", key, json={"agent_id": "pager", "user_wallet": "w"})
    first = local_service.call("GET", "/api/v1/ai/sessions?limit=2&agent_id=pager", key).json()
    assert first["next_cursor"] is not None
    made_up = local_service.call("GET", "/api/v1/ai/sessions?cursor=" + "0" * 20 + "%23sess_" + "a" * 24, key)
    assert made_up.status_code == 200  # before every session: an empty page
    bad = local_service.call("GET", "/api/v1/ai/sessions?cursor=eyJwayI6IkFQSUtFWSN4In0", key)
    assert bad.status_code == 422
    assert "cursor" in bad.json()["error"]["details"]["fields"]
