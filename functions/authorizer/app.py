"""Lambda authorizer (HTTP API, payload 2.0, simple responses).

Turns an API key into its account id and a session token into its session id. Unknown or
malformed credentials are let through as anonymous so the handler can answer the contract's
401 body (an HTTP API authorizer that denies can only produce a bare 403).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.http.caller_context import authorizer_context
from agent_sessions.infra.observability import logger, tracer
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions

require_settings()  # a missing or invalid variable stops the function at init


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    caller = sessions.authenticate(default_store(), headers.get("authorization"))
    if caller is None:
        logger.info("anonymous request")
    else:
        logger.info("authenticated", extra={"credential": caller.kind, "account_id": caller.account_id})
    return {"isAuthorized": True, "context": authorizer_context(caller)}
