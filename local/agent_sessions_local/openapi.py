"""The OpenAPI 3.1 document, generated from the handlers' own routes and pydantic models.

Powertools' merge discovers the resolver (`app`) in every `functions/*/app.py` and joins their
schemas, so the document cannot drift from the code; `openapi.json` is the committed copy, and a
test regenerates it and compares.
"""

from __future__ import annotations

import json
import os

from agent_sessions_local.template import PROJECT_ROOT

OPENAPI_PATH = PROJECT_ROOT / "openapi.json"


def build_openapi() -> str:
    """The document as pretty JSON (stable key order, trailing newline)."""
    # The handlers check their settings at import; these names only let them import here.
    for name, value in {"TABLE_NAME": "agent-sessions", "EVENT_BUS_NAME": "events", "WEBHOOK_KEY_ID": "key"}.items():
        os.environ.setdefault(name, value)
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    resolver = APIGatewayHttpResolver(enable_validation=True)
    resolver.configure_openapi_merge(
        path=str(PROJECT_ROOT / "functions"),
        pattern="app.py",
        recursive=True,
        title="agent-sessions",
        version="1.0.0",
        summary="Spending sessions for AI agents (ZendFi SDK compatible).",
        description="API keys (`zfi_test_…`) and session tokens (`zai_session_…`) travel as `Authorization: Bearer …`.",
        security_schemes={"bearer": HTTPBearer(description="An API key or a session token.")},
        security=[{"bearer": []}],
        on_conflict="error",
    )
    document = json.loads(resolver.get_openapi_merge_json_schema())
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
