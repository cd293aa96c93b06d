"""POST /api/v1/payments: an agent pays with its session token (or the platform with its API key and
X-Session-Token); checked and debited atomically."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import utc_now
from agent_sessions.http.direct_route import DirectRoute
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    SessionTokenHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses_with_errors,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import payments, platform_payments
from agent_sessions.wire.answers import PaymentOut
from agent_sessions.wire.models import CreatePaymentRequest
from agent_sessions.wire.views import payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/payments",
    responses=responses_with_errors(
        201, PaymentOut, "Authorized (201) or awaiting approval (202).", (402, 429), also={202: PaymentOut}
    ),
)
def create_payment(
    body: CreatePaymentRequest,
    idempotency_key: IdempotencyKeyHeader = None,
    x_session_token: SessionTokenHeader = None,
):
    caller = platform_payments.paying_caller(default_store(), caller_of(app), x_session_token)
    now = utc_now()
    try:
        created = payments.create_payment(default_store(), caller, body, idempotency_key, now)
    except DomainError as refusal:
        metrics.add_metric(name="PaymentDeclined", unit=MetricUnit.Count, value=1)
        logger.info("payment refused", extra={"session_id": caller.session_id, "code": refusal.code})
        raise
    payment = created.answer.payment
    metrics.add_metric(
        name="PaymentReplayed" if created.replayed else f"Payment_{payment.first_status}",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info(
        "payment created",
        extra={
            "payment_id": payment.id,
            "session_id": payment.session_id,
            "status": payment.first_status,
            "replayed": created.replayed,
        },
    )
    return json_response(created.http_status, payment_body(payment, created.answer.session, now, as_created=True))


# The payment route, answered without the resolver's per-request machinery (same checks, same answers).
direct = DirectRoute(app, create_payment)


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context, direct.answer)
