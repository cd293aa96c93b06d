"""GET /api/v1/payments/{id}: a payment, for its account's key or its own session's token."""

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
from agent_sessions.logic import payment_decisions, sessions
from agent_sessions.wire.answers import PaymentOut
from agent_sessions.wire.models import PAYMENT_ID_PATTERN
from agent_sessions.wire.views import payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get("/api/v1/payments/<payment_id>", responses=responses(200, PaymentOut, "The payment."))
def get_payment(payment_id: Annotated[str, Path(pattern=PAYMENT_ID_PATTERN)]):
    caller = sessions.require_caller(caller_of(app))
    now = utc_now()
    answer = payment_decisions.get_payment(default_store(), caller, payment_id, now)
    metrics.add_metric(name="PaymentRead", unit=MetricUnit.Count, value=1)
    return json_response(200, payment_body(answer.payment, answer.session, now))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
