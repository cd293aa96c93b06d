"""GET /api/v1/ai/sessions: the API key's sessions, newest first, one page at a time."""

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.codec import SESSION_CURSOR_PATTERN
from agent_sessions.dal.dynamo import default_store
from agent_sessions.dal.ports import SessionFilter
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
from agent_sessions.logic import sessions
from agent_sessions.wire.answers import SessionListOut
from agent_sessions.wire.models import MAX_ID_CHARS, MAX_PAGE_SIZE
from agent_sessions.wire.views import session_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get("/api/v1/ai/sessions", responses=responses(200, SessionListOut, "A page of sessions, newest first."))
def list_sessions(
    status: Annotated[Literal["active", "all"], Query()] = "all",
    agent_id: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS)] = None,
    user_wallet: Annotated[str | None, Query(min_length=1, max_length=MAX_ID_CHARS)] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=(
                "Sessions per page. Left out (as the ZendFi SDK's listSessions() does, which also drops "
                "next_cursor), the newest 100 sessions; filters apply before the page is cut."
            ),
        ),
    ] = MAX_PAGE_SIZE,
    cursor: Annotated[str | None, Query(pattern=SESSION_CURSOR_PATTERN)] = None,
):
    caller = sessions.require_api_key(caller_of(app))
    now = utc_now()
    session_filter = SessionFilter(agent_id=agent_id, user_wallet=user_wallet, active_only=status == "active")
    page = sessions.list_sessions(default_store(), caller, limit, cursor, session_filter, now)
    metrics.add_metric(name="SessionsListed", unit=MetricUnit.Count, value=1)
    return json_response(
        200,
        {"sessions": [session_body(session, now) for session in page.items], "next_cursor": page.next_cursor},
    )


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
