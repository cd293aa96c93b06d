"""PATCH /api/v1/ai/sessions/{id}: change a live session's limits, merchants or expiry, safely."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IfMatchHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses_with_errors,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic.session_updates import update_session
from agent_sessions.wire.answers import SessionOut
from agent_sessions.wire.models import SESSION_ID_PATTERN, UpdateSessionRequest
from agent_sessions.wire.views import session_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.patch(
    "/api/v1/ai/sessions/<session_id>",
    responses=responses_with_errors(
        200, SessionOut, "The session with its new terms; `version` (and the ETag) is the new one.", (409, 412, 428)
    ),
)
def patch_session(
    session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)],
    body: UpdateSessionRequest,
    if_match: IfMatchHeader = None,
):
    now = utc_now()
    session = update_session(default_store(), caller_of(app), session_id, body, if_match, now)
    metrics.add_metric(name="SessionUpdated", unit=MetricUnit.Count, value=1)
    logger.info("session terms changed", extra={"session_id": session.id, "version": session.terms_rev})
    return json_response(200, session_body(session, now), {"ETag": f'"{session.terms_rev}"'})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
