"""The local runtime's table on whatever DynamoDB it is pointed at (`--dynamodb-endpoint`).

It is found by name, so an endpoint with more tables than a listing's page is not asked to create
it again; and a DynamoDB without streams (events leave through the table's stream) is refused at
the start in one line instead of failing at the first payment.
"""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agent_sessions_local.commands import ensure_table
from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
from agent_sessions_local.template import load_template, table_definition


@pytest.fixture
def client() -> Iterator[Any]:
    server = start_embedded_dynamodb_process()
    try:
        yield boto3.client("dynamodb", endpoint_url=server.endpoint_url)
    finally:
        server.stop()


def test_the_runtime_finds_its_table_among_hundreds_and_refuses_a_dynamodb_without_streams(client: Any) -> None:
    template = load_template()
    for number in range(101 - len(client.list_tables(Limit=100)["TableNames"])):  # a listing's page holds 100
        client.create_table(
            TableName=f"filler{number}",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    kept = "kept"
    client.create_table(**table_definition(template, kept))
    client.put_item(TableName=kept, Item={"pk": {"S": "kept"}})
    ensure_table(client, template, kept)  # found by name: not created again, its items kept
    assert client.scan(TableName=kept)["Count"] == 1
    streamless = {**table_definition(template, "streamless"), "StreamSpecification": {"StreamEnabled": False}}
    client.create_table(**streamless)
    with pytest.raises(SystemExit, match="has no stream"):
        ensure_table(client, template, "streamless")
