"""GET /api/v1/ai/sessions/{id}/audit: the session's decision log as JSON Lines, verifiable offline."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.decision_log import canonical
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    answer_errors_per_contract,
    caller_of,
    json_lines_responses,
    resolve_json,
)
from agent_sessions.infra.observability import metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import decision_log, sessions
from agent_sessions.wire.models import SESSION_ID_PATTERN

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get(
    "/api/v1/ai/sessions/<session_id>/audit",
    responses=json_lines_responses("JSON Lines: the attestation the chain starts from, then every entry in order."),
)
def get_audit(session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)]):
    caller = sessions.require_caller(caller_of(app))
    lines = decision_log.export(default_store(), caller, session_id, utc_now())
    metrics.add_metric(name="AuditExported", unit=MetricUnit.Count, value=1)
    body = "".join(canonical(line).decode() + "\n" for line in lines)
    return Response(status_code=200, content_type="application/x-ndjson", body=body)


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
