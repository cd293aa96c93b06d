"""/console: the operator's web console (sessions, approvals, webhooks, analytics) over the API's own service functions.

Its routes have no authorizer: the console signs its operator in with a key kept in an HttpOnly
cookie and checks it on every request (agent_sessions.console.security says how).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.console.routes import answer
from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.infra.dead_letters import dead_letter_count
from agent_sessions.infra.observability import logger, tracer
from agent_sessions.infra.settings import require_settings

settings = require_settings()  # a missing or invalid variable stops the function at init


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wants_webhooks = str(event.get("rawPath", "")).rstrip("/") == "/console/webhooks"
    dead_letters = dead_letter_count(settings.delivery_dlq_url) if wants_webhooks else None
    return answer(event, default_store(), utc_now(), dead_letters)
