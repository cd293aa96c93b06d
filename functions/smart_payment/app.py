"""POST /api/v1/ai/smart-payment: the platform pays for a session (the ZendFi SDK's smartPayment)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses_with_errors,
    url_of,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import platform_payments
from agent_sessions.wire.answers import SmartPaymentOut
from agent_sessions.wire.models import SmartPaymentRequest
from agent_sessions.wire.views import smart_payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/ai/smart-payment",
    responses=responses_with_errors(
        201,
        SmartPaymentOut,
        "Confirmed: authorized (201); or pending: awaiting approval (202).",
        (402, 429),
        also={202: SmartPaymentOut},
    ),
)
def smart_payment(body: SmartPaymentRequest, idempotency_key: IdempotencyKeyHeader = None):
    now = utc_now()
    try:
        created = platform_payments.smart_payment(default_store(), caller_of(app), body, idempotency_key, now)
    except DomainError as refusal:
        metrics.add_metric(name="PaymentDeclined", unit=MetricUnit.Count, value=1)
        logger.info("smart payment refused", extra={"code": refusal.code})
        raise
    payment = created.answer.payment
    outcome = "PaymentReplayed" if created.replayed else f"Payment_{payment.first_status}"
    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    logger.info(
        "smart payment created",
        extra={"payment_id": payment.id, "session_id": payment.session_id, "replayed": created.replayed},
    )
    receipt = url_of(app, f"/api/v1/payments/{payment.id}")
    return json_response(created.http_status, smart_payment_body(payment, created.answer.session, now, receipt))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
