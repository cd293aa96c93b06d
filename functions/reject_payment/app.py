"""POST /api/v1/payments/{id}/reject: reject a payment awaiting approval; its hold is released."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses_with_errors,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import payment_decisions, sessions
from agent_sessions.wire.answers import PaymentOut
from agent_sessions.wire.models import PAYMENT_ID_PATTERN
from agent_sessions.wire.views import payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/payments/<payment_id>/reject",
    responses=responses_with_errors(200, PaymentOut, "The payment, now rejected.", (409,)),
)
def reject_payment(
    payment_id: Annotated[str, Path(pattern=PAYMENT_ID_PATTERN)], idempotency_key: IdempotencyKeyHeader = None
):
    caller = sessions.require_api_key(caller_of(app))
    now = utc_now()
    answer = payment_decisions.reject_payment(default_store(), caller, payment_id, now, idempotency_key)
    metrics.add_metric(name="PaymentRejected", unit=MetricUnit.Count, value=1)
    logger.info("payment rejected", extra={"payment_id": payment_id, "session_id": answer.payment.session_id})
    return json_response(200, payment_body(answer.payment, answer.session, now))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
