"""The embedded DynamoDB (what `make run` uses): a serialised moto server in its own process.

It changes how moto backs up for TransactWriteItems (only the items a transaction names, not
whole tables); these tests hold it to moto's own behaviour: a cancelled transaction changes
nothing, not an item it would have created, changed or deleted, not even the stream, and a
committed one adds exactly its records.
"""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
from agent_sessions_local.template import load_template, table_definition


@pytest.fixture
def embedded() -> Iterator[tuple[Any, Any]]:
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        streams = boto3.client("dynamodbstreams", endpoint_url=server.endpoint_url)
        client.create_table(**table_definition(load_template(), "t"))
        yield client, streams
    finally:
        server.stop()
    assert server.process.poll() is not None  # stopped by its PID


def stream_records(client: Any, streams: Any) -> list[dict[str, Any]]:
    arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    position, records = iterator["ShardIterator"], []
    while True:
        page = streams.get_records(ShardIterator=position, Limit=1000)
        if not page["Records"]:
            return records
        records.extend(page["Records"])
        position = page["NextShardIterator"]


def add_one(key: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"pk": {"S": key}},
            "UpdateExpression": "SET n = if_not_exists(n, :zero) + :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
        }
    }


def test_a_cancelled_transaction_leaves_the_table_and_its_stream_unchanged(embedded: tuple[Any, Any]) -> None:
    client, streams = embedded
    client.transact_write_items(TransactItems=[add_one("a"), {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}}}])
    before = stream_records(client, streams)
    assert {record["dynamodb"]["Keys"]["pk"]["S"] for record in before} == {"a", "b"}

    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                add_one("a"),  # would pass, and is rolled back with the rest
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "b"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert stream_records(client, streams) == before

    client.transact_write_items(TransactItems=[add_one("a")])
    assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "2"}
    after = stream_records(client, streams)
    assert after[: len(before)] == before
    change = after[-1]["dynamodb"]  # the committed update's own record: the item before, then after
    assert (change["OldImage"]["n"], change["NewImage"]["n"]) == ({"N": "1"}, {"N": "2"})
    assert [(record["eventName"], record["dynamodb"]["NewImage"]["n"]) for record in after[len(before) :]] == [
        ("MODIFY", {"N": "2"})
    ]


def test_a_cancelled_transaction_creates_changes_and_deletes_nothing(embedded: tuple[Any, Any]) -> None:
    client, streams = embedded
    client.transact_write_items(TransactItems=[add_one("kept"), add_one("doomed")])
    before_items = sorted(str(item) for item in client.scan(TableName="t")["Items"])
    before_stream = stream_records(client, streams)
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "n": {"N": "7"}}}},
                add_one("kept"),
                {"Delete": {"TableName": "t", "Key": {"pk": {"S": "doomed"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert sorted(str(item) for item in client.scan(TableName="t")["Items"]) == before_items
    assert "Item" not in client.get_item(TableName="t", Key={"pk": {"S": "new"}})
    assert stream_records(client, streams) == before_stream


def put(key: str) -> dict[str, Any]:
    return {"Put": {"TableName": "t", "Item": {"pk": {"S": key}}}}


def test_a_stream_keeps_its_newest_records_and_iterators_stay_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SESSIONS_LOCAL_STREAM_RECORDS", "5")
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        streams = boto3.client("dynamodbstreams", endpoint_url=server.endpoint_url)
        client.create_table(**table_definition(load_template(), "t"))
        for number in range(8):
            client.transact_write_items(TransactItems=[put(f"k{number}")])
        kept = stream_records(client, streams)
        assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in kept] == [f"k{n}" for n in range(3, 8)]
        with pytest.raises(client.exceptions.TransactionCanceledException):  # at the bound: still rolled back
            client.transact_write_items(
                TransactItems=[
                    put("k9"),
                    {
                        "Put": {
                            "TableName": "t",
                            "Item": {"pk": {"S": "k7"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        assert stream_records(client, streams) == kept
        client.transact_write_items(TransactItems=[put("k10")])
        after = stream_records(client, streams)
        assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in after] == [f"k{n}" for n in (4, 5, 6, 7, 10)]
        assert int(after[-1]["dynamodb"]["SequenceNumber"]) > int(kept[-1]["dynamodb"]["SequenceNumber"])
    finally:
        server.stop()


def test_the_stream_pump_starts_again_from_the_oldest_record_kept_when_its_position_was_trimmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent_sessions_local.workers import StreamPump

    monkeypatch.setenv("AGENT_SESSIONS_LOCAL_STREAM_RECORDS", "5")
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        streams = boto3.client("dynamodbstreams", endpoint_url=server.endpoint_url)
        client.create_table(**table_definition(load_template(), "t"))
        arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        pump = StreamPump.__new__(StreamPump)  # only its reading half: no function instances
        pump._streams, pump._arn, pump._shard, pump._batch_size = streams, arn, shard["ShardId"], 100
        pump._next_sequence = shard["SequenceNumberRange"]["StartingSequenceNumber"]  # the very first record
        for number in range(8):
            client.transact_write_items(TransactItems=[put(f"k{number}")])
        assert pump._next_records() == []  # its position is gone: it says so and starts again
        assert pump._next_sequence is None
        kept = pump._next_records()
        assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in kept] == [f"k{n}" for n in range(3, 8)]
    finally:
        server.stop()


def test_rewriting_one_item_keeps_its_memory_flat(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes that keep no more data (one item, rewritten) must not grow the server's memory.

    moto registers every model instance it makes (each item, each copy, each stream record) on its
    class; unchecked, 600 rewrites of a 30-attribute item grew the server by about 11 MB.
    """
    monkeypatch.setenv("AGENT_SESSIONS_LOCAL_STREAM_RECORDS", "20")  # the stream at its bound from the start
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        client.create_table(**table_definition(load_template(), "t"))

        def rewrite(times: int) -> None:
            for number in range(times):
                attributes = {f"a{position}": {"N": str(number + position)} for position in range(30)}
                client.put_item(TableName="t", Item={"pk": {"S": "one"}, **attributes})

        rewrite(200)  # allocator arenas and the stream filled
        before = resident_kb(server.process.pid)
        rewrite(600)
        growth_kb = resident_kb(server.process.pid) - before
        assert client.scan(TableName="t", Select="COUNT")["Count"] == 1
        assert growth_kb < 2048, f"the embedded DynamoDB grew by {growth_kb} KB rewriting one item"
    finally:
        server.stop()


def resident_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_runtimes_group_leaves_the_server_to_the_runtime(stop: signal.Signals) -> None:
    """Ctrl-C or SIGTERM to the whole group reaches this child too: it keeps serving until the
    runtime, having stopped its workers, closes its stdin (else a worker's last step hits a dead port).
    """
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        os.kill(server.process.pid, stop)
        time.sleep(0.3)
        assert server.process.poll() is None
        client.create_table(**table_definition(load_template(), "t"))
        assert client.list_tables()["TableNames"] == ["t"]
    finally:
        server.stop()
    assert server.process.returncode == 0  # ended by its closed stdin, not killed
