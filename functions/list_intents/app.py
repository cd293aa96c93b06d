"""GET /api/v1/payment-intents: the account's intents, newest first (the SDK's `intents.list`)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.codec import INTENT_CURSOR_PATTERN
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
from agent_sessions.logic import intents, sessions
from agent_sessions.wire.answers import IntentListOut
from agent_sessions.wire.models import MAX_PAGE_SIZE
from agent_sessions.wire.views import intent_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get(
    "/api/v1/payment-intents",
    responses=responses(200, IntentListOut, "A page of the account's intents, newest first."),
)
def list_intents(
    status: Annotated[
        Literal["requires_payment", "processing", "succeeded", "canceled"] | None,
        Query(description="The status the intent was last written with (an expired, unconfirmed one reads canceled)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0, le=intents.MAX_OFFSET, description="Skip this many (the SDK's paging).")] = 0,
    cursor: Annotated[str | None, Query(pattern=INTENT_CURSOR_PATTERN)] = None,
):
    caller = sessions.require_api_key(caller_of(app))
    answers, next_cursor = intents.list_intents(default_store(), caller, status, limit, offset, cursor, utc_now())
    metrics.add_metric(name="IntentsListed", unit=MetricUnit.Count, value=1)
    bodies = [intent_body(a.intent, a.status, a.payment, None) for a in answers]
    return json_response(200, {"intents": bodies, "next_cursor": next_cursor})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
