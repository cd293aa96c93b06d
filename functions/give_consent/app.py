"""POST /api/v1/ai/sessions/{id}/consent: the wallet owner's signature makes a consent-bound session active."""

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
    responses_with_errors,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions
from agent_sessions.logic.consent import give_consent
from agent_sessions.wire.answers import SessionOut
from agent_sessions.wire.models import SESSION_ID_PATTERN, ConsentIn
from agent_sessions.wire.views import session_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/ai/sessions/<session_id>/consent",
    responses=responses_with_errors(
        200, SessionOut, "The session, active (or as it was, if it had consented already).", (409,)
    ),
)
def post_consent(session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)], body: ConsentIn):
    caller = sessions.require_caller(caller_of(app))
    now = utc_now()
    session = give_consent(default_store(), caller, session_id, body.signature, now)
    metrics.add_metric(name="SessionConsented", unit=MetricUnit.Count, value=1)
    logger.info("session consented", extra={"session_id": session.id, "status": session.status_at(now)})
    return json_response(200, session_body(session, now))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
