"""POST /api/v1/ai/sessions: create a session for the API key's account."""

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
from agent_sessions.logic import sessions
from agent_sessions.wire.answers import SessionOut
from agent_sessions.wire.models import CreateSessionRequest
from agent_sessions.wire.views import session_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post("/api/v1/ai/sessions", responses=responses(201, SessionOut, "The new session, with its token (shown once)."))
def create_session(body: CreateSessionRequest, idempotency_key: IdempotencyKeyHeader = None):
    caller = sessions.require_api_key(caller_of(app))
    idempotency = idempotent_creation(app, idempotency_key)
    created = sessions.create_session(default_store(), caller, body, utc_now(), idempotency)
    metrics.add_metric(name="SessionReplayed" if created.replayed else "SessionCreated", unit=MetricUnit.Count, value=1)
    logger.info(
        "session created",
        extra={"session_id": created.session.id, "account_id": caller.account_id, "replayed": created.replayed},
    )
    session = created.session  # as created: the first answer, on a replay too
    return json_response(201, session_body(session, session.created_at, session_token=created.session_token))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
