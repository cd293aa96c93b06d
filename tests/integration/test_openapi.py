"""The committed openapi.json is what the handlers' routes and models generate."""

import json

from agent_sessions_local.api_reference import API_REFERENCE_PATH, build_api_reference
from agent_sessions_local.openapi import OPENAPI_PATH, build_openapi
from agent_sessions_local.template import http_routes, load_template


def test_the_committed_document_matches_the_code() -> None:
    assert OPENAPI_PATH.read_text() == build_openapi(), "run `make openapi` and commit openapi.json"


def test_the_committed_api_reference_is_generated_from_the_document() -> None:
    document = json.loads(OPENAPI_PATH.read_text())
    assert API_REFERENCE_PATH.read_text() == build_api_reference(document), "run `make openapi` and commit docs/api.md"
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in API_REFERENCE_PATH.read_text()


def test_every_route_in_the_template_is_documented_once() -> None:
    document = json.loads(OPENAPI_PATH.read_text())
    assert document["openapi"].startswith("3.1")
    documented = {
        (
            method.upper(),
            path.replace("{session_id}", "{id}")
            .replace("{payment_id}", "{id}")
            .replace("{webhook_id}", "{id}")
            .replace("{key_id}", "{id}")
            .replace("{intent_id}", "{id}"),
        )
        for path, operations in document["paths"].items()
        for method in operations
    }
    declared = {(route.method, route.path) for route in http_routes(load_template()) if route.authorizer is not None}
    assert documented == declared
    payment = document["paths"]["/api/v1/payments"]["post"]["responses"]
    assert {"201", "202", "402", "422", "429"} <= set(payment)
