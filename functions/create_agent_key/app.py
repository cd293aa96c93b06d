"""POST /api/v1/agent-keys: a scoped, rate-limited key for an agent; its full key is shown once."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    caller_of,
    idempotent_creation,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import agent_keys, sessions
from agent_sessions.wire.answers import AgentKeyOut
from agent_sessions.wire.models import CreateAgentKeyRequest
from agent_sessions.wire.views import agent_key_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post("/api/v1/agent-keys", responses=responses(201, AgentKeyOut, "The key, with its full key (shown once)."))
def create_agent_key(body: CreateAgentKeyRequest, idempotency_key: IdempotencyKeyHeader = None):
    caller = sessions.require_api_key(caller_of(app))
    created = agent_keys.create_agent_key(
        default_store(), caller, body, utc_now(), idempotent_creation(app, idempotency_key)
    )
    metrics.add_metric(
        name="AgentKeyReplayed" if created.replayed else "AgentKeyCreated", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "agent key created",
        extra={"key_id": created.key.id, "account_id": caller.account_id, "replayed": created.replayed},
    )
    return json_response(201, agent_key_body(created.key, created.full_key))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
