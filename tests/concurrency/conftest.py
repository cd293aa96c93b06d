"""A serialised moto server (one request at a time), the handlers' store pointed at it."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests

from agent_sessions.dal import dynamo
from agent_sessions.infra import settings
from agent_sessions_local.commands import ensure_table
from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
from agent_sessions_local.template import load_template, table_definition
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


@pytest.fixture
def fresh_table(serialised_dynamodb: Any) -> Callable[[], Any]:
    """Empty the serialised server and recreate the table (call once per round)."""
    endpoint = serialised_dynamodb.meta.endpoint_url

    def reset() -> Any:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        # The template's table without its stream: moto copies the whole stream on every
        # transaction (to roll back), which would make each round minutes long; atomicity,
        # the thing measured here, does not involve the stream.
        definition = table_definition(load_template(), TABLE_NAME)
        definition.pop("StreamSpecification", None)
        serialised_dynamodb.create_table(**definition)
        return serialised_dynamodb

    return reset
