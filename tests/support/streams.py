"""Reading the table's stream in tests (moto keeps every record)."""

from typing import Any

import boto3

from agent_sessions_local.workers import lambda_stream_batch


def stream_records(client: Any, table_name: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, oldest first, read with `client`'s endpoint."""
    endpoint = client.meta.endpoint_url
    on_aws = endpoint.endswith(".amazonaws.com")
    streams = boto3.client("dynamodbstreams") if on_aws else boto3.client("dynamodbstreams", endpoint_url=endpoint)
    arn = client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    position = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=position, Limit=1000)
        if not page["Records"]:
            return records
        records.extend(page["Records"])
        position = page["NextShardIterator"]


def as_lambda_event(records: list[dict[str, Any]], table_name: str) -> dict[str, Any]:
    """Stream records as Lambda hands them to a function (what the local runtime's pump sends)."""
    arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{table_name}/stream/local"
    return lambda_stream_batch(records, arn)
