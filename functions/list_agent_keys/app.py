"""GET /api/v1/agent-keys: the account's agent keys, newest first (never their secrets)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import agent_keys, sessions
from agent_sessions.wire.answers import AgentKeyListOut
from agent_sessions.wire.views import agent_key_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get("/api/v1/agent-keys", responses=responses(200, AgentKeyListOut, "The account's agent keys."))
def list_agent_keys():
    caller = sessions.require_api_key(caller_of(app))
    found = agent_keys.list_agent_keys(default_store(), caller)
    metrics.add_metric(name="AgentKeysListed", unit=MetricUnit.Count, value=1)
    return json_response(200, {"keys": [agent_key_body(key) for key in found]})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
