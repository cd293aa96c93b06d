"""The DynamoDB store: every per-aggregate class over one table, and the one this process uses."""

from __future__ import annotations

from functools import lru_cache

from agent_sessions.dal.agent_keys import DynamoAgentKeys
from agent_sessions.dal.alerts import DynamoWindowAlerts
from agent_sessions.dal.analytics import DynamoAnalytics
from agent_sessions.dal.decision_log import DynamoDecisionLog
from agent_sessions.dal.due import DynamoDue
from agent_sessions.dal.intents import DynamoIntents
from agent_sessions.dal.keys import DynamoApiKeys
from agent_sessions.dal.payments import DynamoPayments
from agent_sessions.dal.session_changes import DynamoSessionChanges
from agent_sessions.dal.session_decisions import DynamoSessionDecisions
from agent_sessions.dal.sessions import DynamoSessions
from agent_sessions.dal.webhooks import DynamoWebhooks


class DynamoStore(
    DynamoApiKeys,
    DynamoAgentKeys,
    DynamoIntents,
    DynamoSessions,
    DynamoSessionChanges,
    DynamoPayments,
    DynamoSessionDecisions,
    DynamoDue,
    DynamoWindowAlerts,
    DynamoWebhooks,
    DynamoDecisionLog,
    DynamoAnalytics,
):
    """Every store Protocol over one table (each service still sees only its own Protocol)."""


@lru_cache(maxsize=1)
def default_store() -> DynamoStore:
    """The store for this process, built on first use from the settings and then reused."""
    import boto3
    from botocore.config import Config

    from agent_sessions.infra.settings import load_settings

    settings = load_settings()
    client = boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=2,
            read_timeout=settings.dynamodb_read_timeout_seconds,
        ),
    )
    return DynamoStore(client, settings.table_name)
