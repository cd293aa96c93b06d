"""Reading the table's stream in tests (moto keeps every record)."""

from typing import Any

import boto3


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
    """Stream records as Lambda hands them to a function (a DynamoDB stream batch)."""
    converted = []
    for record in records:
        stream = dict(record["dynamodb"])
        created = stream.get("ApproximateCreationDateTime")
        stream["ApproximateCreationDateTime"] = int(created.timestamp()) if hasattr(created, "timestamp") else created
        converted.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": stream,
                "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table_name}/stream/local",
            }
        )
    return {"Records": converted}
