"""GET /api/v1/ai/sessions/{id}/payments: one of the API key's sessions' payments, newest first."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.codec import PAYMENT_CURSOR_PATTERN
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
from agent_sessions.logic import payments, sessions
from agent_sessions.wire.answers import PaymentListOut
from agent_sessions.wire.models import MAX_PAGE_SIZE, SESSION_ID_PATTERN
from agent_sessions.wire.views import payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get(
    "/api/v1/ai/sessions/<session_id>/payments",
    responses=responses(200, PaymentListOut, "A page of the session's payments, newest first."),
)
def list_session_payments(
    session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(pattern=PAYMENT_CURSOR_PATTERN)] = None,
):
    caller = sessions.require_api_key(caller_of(app))
    now = utc_now()
    session, page = payments.list_payments(default_store(), caller, session_id, limit, cursor)
    metrics.add_metric(name="PaymentsListed", unit=MetricUnit.Count, value=1)
    return json_response(
        200,
        {
            "payments": [payment_body(payment, session, now) for payment in page.items],
            "next_cursor": page.next_cursor,
        },
    )


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
