"""GET /api/v1/ai/sessions/{id}/attestation: what the session's own identity signed (mint_pkp)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
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
from agent_sessions.logic import sessions
from agent_sessions.wire.answers import AttestationOut
from agent_sessions.wire.models import SESSION_ID_PATTERN

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get(
    "/api/v1/ai/sessions/<session_id>/attestation",
    responses=responses(200, AttestationOut, "The address, the signed parameters, their hash and the signature."),
)
def get_attestation(session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)]):
    caller = sessions.require_caller(caller_of(app))
    attestation = sessions.get_attestation(default_store(), caller, session_id, utc_now())
    metrics.add_metric(name="AttestationRead", unit=MetricUnit.Count, value=1)
    return json_response(200, attestation.body())


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
