"""A serialised moto server (one request at a time), the handlers' store pointed at it."""

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agent_sessions.dal import dynamo
from agent_sessions.infra import settings
from agent_sessions_local.commands import ensure_table
from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
from agent_sessions_local.template import load_template
from tests.conftest import TABLE_NAME


@pytest.fixture
def serialised_dynamodb() -> Iterator[Any]:
    """A fresh serialised moto server (its own process) with the template's table; stopped afterwards."""
    server = start_embedded_dynamodb_process()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint_url
    dynamo.default_store.cache_clear()
    settings.load_settings.cache_clear()
    try:
        client = boto3.client("dynamodb")
        ensure_table(client, load_template(), TABLE_NAME)
        yield client
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        dynamo.default_store.cache_clear()
        server.stop()
