"""GET /api/v1/payments: the account's payments across its sessions, newest first (one Query per page)."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
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
from agent_sessions.logic.account_payments import list_account_payments
from agent_sessions.wire.answers import AccountPaymentListOut
from agent_sessions.wire.models import MAX_ID_CHARS, MAX_PAGE_SIZE, SESSION_ID_PATTERN
from agent_sessions.wire.views import account_payment_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)

# A day, 2026-11-24 (UTC); one that does not exist (2026-02-29) is 422.
DAY = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


@app.get(
    "/api/v1/payments",
    responses=responses(200, AccountPaymentListOut, "A page of the account's payments, newest first."),
)
def list_payments(
    session_id: Annotated[str | None, Query(pattern=SESSION_ID_PATTERN)] = None,
    agent_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS)] = None,
    status: Annotated[Literal["authorized", "pending_approval", "rejected", "expired"] | None, Query()] = None,
    start: Annotated[str | None, Query(alias="from", pattern=DAY, description="First day (UTC)")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=DAY, description="Last day (UTC), inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(pattern=PAYMENT_CURSOR_PATTERN)] = None,
):
    wanted = {"session_id": session_id, "agent_id": agent_id, "status": status, "from": start, "to": end}
    page = list_account_payments(default_store(), caller_of(app), limit, cursor, wanted)
    metrics.add_metric(name="AccountPaymentsListed", unit=MetricUnit.Count, value=1)
    now = utc_now()
    return json_response(
        200, {"payments": [account_payment_body(p, now) for p in page.items], "next_cursor": page.next_cursor}
    )


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
