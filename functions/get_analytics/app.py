"""GET /api/v1/analytics/agents: the account's payments per day (one agent's with ?agent_id=), as the SDK reads them."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
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
from agent_sessions.logic.analytics import agent_analytics
from agent_sessions.wire.answers import AnalyticsOut
from agent_sessions.wire.models import MAX_ID_CHARS

# A day as 2026-11-24; a range is at most 92 days, `from` on or before `to` (else 422).
DAY_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"
    r"|^20[0-9]{2}-(0[13-9]|1[0-2])-(29|30)$"
    r"|^20[0-9]{2}-(0[13578]|1[02])-31$"
    r"|^20[0-9]{2}-02-29$"  # a leap day; in another year, 422
)

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get(
    "/api/v1/analytics/agents",
    responses=responses(200, AnalyticsOut, "Counts and volumes per day, from counters the stream keeps."),
)
def get_analytics(
    agent_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS)] = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN, description="First day (UTC)")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=DAY_PATTERN, description="Last day (default today)")] = None,
):
    analytics = agent_analytics(default_store(), caller_of(app), agent_id, start, end, utc_now())
    metrics.add_metric(name="AnalyticsRead", unit=MetricUnit.Count, value=1)
    return json_response(200, analytics.body())


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
