"""The Powertools logger, metrics and tracer every function shares (one namespace, one service)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "agent-sessions"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace="AgentSessions", service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
