"""POST /api/v1/payments/check: what the same payment would get now (one read, nothing written)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    SessionTokenHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic.payment_checks import check_payment
from agent_sessions.wire.answers import PaymentCheckOut
from agent_sessions.wire.models import CreatePaymentRequest
from agent_sessions.wire.views import payment_check_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/payments/check",
    responses=responses(200, PaymentCheckOut, "What POST /api/v1/payments would answer now; nothing is written."),
)
def check_payment_route(
    body: CreatePaymentRequest,
    idempotency_key: IdempotencyKeyHeader = None,  # accepted (the SDK sends one on every POST), not needed
    x_session_token: SessionTokenHeader = None,
):
    now = utc_now()
    check = check_payment(default_store(), caller_of(app), x_session_token, body, now)
    metrics.add_metric(name=f"PaymentCheck_{check.would}", unit=MetricUnit.Count, value=1)
    logger.info("payment checked", extra={"session_id": check.session_after.id, "would": check.would})
    return json_response(200, payment_check_body(check, now))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
