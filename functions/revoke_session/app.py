"""POST /api/v1/ai/sessions/{id}/revoke: end a session at once; a second revoke changes nothing."""

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
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions
from agent_sessions.wire.answers import RevokeOut
from agent_sessions.wire.models import SESSION_ID_PATTERN
from agent_sessions.wire.views import session_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/ai/sessions/<session_id>/revoke",
    responses=responses(200, RevokeOut, "The session, revoked (or as it was, if it had already ended)."),
)
def revoke_session(session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)]):
    caller = sessions.require_api_key(caller_of(app))
    now = utc_now()
    session = sessions.revoke_session(default_store(), caller, session_id, now)
    metrics.add_metric(name="SessionRevoked", unit=MetricUnit.Count, value=1)
    logger.info("session revoked", extra={"session_id": session.id, "status": session.status_at(now)})
    return json_response(200, {"success": True, "session": session_body(session, now)})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
