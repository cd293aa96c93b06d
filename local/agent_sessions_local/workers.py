"""What AWS runs beside the API, done locally: the schedule, the stream, the bus and the queue.

- every minute, the template's scheduled function (the expiry sweep) gets a Scheduled Event;
- the table's stream is read as Lambda would and handed to the stream function (publish_events),
  resuming from the first record it reports as failed;
- the function publishes to a real custom bus in the embedded moto, whose rule sends events to
  an SQS queue with the template's redrive policy, which is polled like Lambda's SQS poller and
  handed to the queue function (deliver_webhooks); messages it does not report failed are deleted.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from agent_sessions_local.instances import FunctionPool
from agent_sessions_local.template import FunctionSpec, functions_with_event, resource_properties

EVENT_SOURCE = "agent-sessions"
log = logging.getLogger("agent_sessions_local.workers")
QUEUE_CONCURRENCY = 4


@dataclass(frozen=True)
class LocalResources:
    """The stand-ins created in the embedded moto for the template's bus, queues and key."""

    bus_name: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    key_id: str


def provision(template: dict[str, Any], name_prefix: str) -> LocalResources:
    """Create the bus, the rule to the delivery queue (with its dead-letter queue) and the KMS key."""
    events, sqs, kms = boto3.client("events"), boto3.client("sqs"), boto3.client("kms")
    bus_name = f"{name_prefix}-events"
    if bus_name not in [bus["Name"] for bus in events.list_event_buses().get("EventBuses", [])]:
        events.create_event_bus(Name=bus_name)
    queue = resource_properties(template, "DeliveryQueue")
    dead_url = sqs.create_queue(QueueName=f"{name_prefix}-delivery-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(queue["RedrivePolicy"]["maxReceiveCount"])}
    queue_url = sqs.create_queue(
        QueueName=f"{name_prefix}-delivery",
        Attributes={"VisibilityTimeout": str(queue["VisibilityTimeout"]), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=f"{name_prefix}-to-delivery", EventBusName=bus_name, EventPattern=json.dumps({"source": [EVENT_SOURCE]})
    )
    events.put_targets(
        Rule=f"{name_prefix}-to-delivery", EventBusName=bus_name, Targets=[{"Id": "delivery-queue", "Arn": queue_arn}]
    )
    key_id = kms.create_key(Description="webhook signing secrets (local)")["KeyMetadata"]["KeyId"]
    return LocalResources(bus_name, queue_url, queue_arn, dead_url, key_id)


class _Worker(threading.Thread):
    """A daemon thread running `step` every `interval` seconds until stopped, with its function's instances."""

    def __init__(self, name: str, interval: float, spec: FunctionSpec) -> None:
        super().__init__(name=name, daemon=True)
        self._interval = interval
        self._stopped = threading.Event()
        self._pool = FunctionPool(spec)

    def run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self.step()
            except Exception:  # a worker keeps going, as Lambda's pollers do
                if self._stopped.is_set():  # the runtime is stopping: what failed runs again at the next start
                    log.debug("%s: a step cut short by the stop", self.name)
                else:
                    log.exception("%s failed; trying again", self.name)

    def step(self) -> None:
        raise NotImplementedError

    def stop(self, wait_seconds: float = 5.0) -> None:
        """Take no more steps, let the one under way end (up to `wait_seconds`), then stop the instances."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=wait_seconds)
        self._pool.stop()


class Schedule(_Worker):
    """Invokes a scheduled function with a Scheduled Event, every `interval` seconds."""

    def __init__(self, spec: FunctionSpec, interval: float) -> None:
        super().__init__(f"schedule:{spec.logical_id}", interval, spec)
        self._spec = spec

    def step(self) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._pool.invoke(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "000000000000",
                "time": now,
                "region": "us-east-1",
                "resources": [f"arn:aws:scheduler:local:000000000000:schedule/{self._spec.logical_id}"],
                "detail": {},
            }
        )


class StreamPump(_Worker):
    """Reads the table's stream and hands batches to the stream function, as Lambda does."""

    def __init__(
        self,
        spec: FunctionSpec,
        table_name: str,
        interval: float = 0.5,
        batch_size: int = 100,
        after_existing: bool = False,
    ) -> None:
        super().__init__(f"stream:{spec.logical_id}", interval, spec)
        self._table = table_name
        self._batch_size = batch_size
        self._streams = boto3.client("dynamodbstreams")
        self._arn: str | None = None
        self._shard: str | None = None
        self._next_sequence: str | None = None  # resume here (AT_SEQUENCE_NUMBER); None: from the start
        if after_existing:  # restored from --data-dir: those were announced before
            # Now, before anything is served: a record written before the first step would be skipped too.
            self._find_the_stream()
            self._skip_to_the_end()

    def step(self) -> None:
        """Hand over every record written since the last step, a batch at a time (so a burst is drained)."""
        if self._arn is None:
            self._find_the_stream()
        while self._hand_over_one_batch() == self._batch_size:
            pass

    def _find_the_stream(self) -> None:
        self._arn = boto3.client("dynamodb").describe_table(TableName=self._table)["Table"]["LatestStreamArn"]
        self._shard = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def _hand_over_one_batch(self) -> int:
        """One batch to the stream function; how many records it held."""
        records = self._next_records()
        if not records:
            return 0
        answer = self._pool.invoke(lambda_stream_batch(records, self._arn or ""))
        failures = answer.get("batchItemFailures") or []
        if failures:
            self._next_sequence = str(failures[0]["itemIdentifier"])
            return 0  # retried at the next step, as Lambda retries a batch
        self._next_sequence = str(int(records[-1]["dynamodb"]["SequenceNumber"]) + 1)
        return len(records)

    def _skip_to_the_end(self) -> None:
        """Start after every record written so far (the restored items), as a new trigger at LATEST would."""
        while records := self._next_records():
            self._next_sequence = str(int(records[-1]["dynamodb"]["SequenceNumber"]) + 1)

    def _next_records(self) -> list[dict[str, Any]]:
        if self._next_sequence is None:
            position = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            position = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": self._next_sequence}
        try:
            iterator = self._streams.get_shard_iterator(StreamArn=self._arn, ShardId=self._shard, **position)
            return list(
                self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=self._batch_size)["Records"]
            )
        except ClientError:
            if self._next_sequence is None:
                raise
            # Our position was trimmed away (the embedded stream keeps its newest records only): as a
            # Lambda trigger more than 24 h behind would, start again from the oldest record kept.
            logging.getLogger("agent_sessions_local").warning("stream records were trimmed before they were read")
            self._next_sequence = None
            return []


def lambda_stream_batch(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Stream records as Lambda hands them to a function."""
    converted = []
    for record in records:
        stream = dict(record["dynamodb"])
        created: Any = stream.get("ApproximateCreationDateTime")
        stream["ApproximateCreationDateTime"] = int(created.timestamp()) if isinstance(created, datetime) else created
        converted.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": stream,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": converted}


class QueuePoller(_Worker):
    """Receives from the delivery queue and hands batches to the queue function, as Lambda does.

    Batches run side by side (up to QUEUE_CONCURRENCY instances, as Lambda scales an SQS source),
    so one hanging endpoint never stalls the queue. It short-polls: the embedded server answers
    one request at a time, and a long poll would hold every other request up while it waits.
    """

    def __init__(self, spec: FunctionSpec, queue_url: str, queue_arn: str, interval: float = 0.2) -> None:
        super().__init__(f"queue:{spec.logical_id}", interval, spec)
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._sqs = boto3.client("sqs")
        self._running = threading.BoundedSemaphore(QUEUE_CONCURRENCY)
        self._batches = ThreadPoolExecutor(max_workers=QUEUE_CONCURRENCY, thread_name_prefix=self.name)

    def step(self) -> None:
        while self._running.acquire(timeout=self._interval):
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                self._running.release()
                return
            self._batches.submit(self._run_batch, messages)

    def _run_batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            answer = self._pool.invoke({"Records": [self._record(message) for message in messages]})
            failed = {failure["itemIdentifier"] for failure in answer.get("batchItemFailures") or []}
            for message in messages:
                if message["MessageId"] not in failed:
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception:  # the messages come back after their visibility timeout, as on AWS
            if self._stopped.is_set():
                log.debug("%s: a batch cut short by the stop", self.name)
            else:
                log.exception("%s: a batch failed; its messages will be received again", self.name)
        finally:
            self._running.release()

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": "us-east-1",
        }

    def stop(self, wait_seconds: float = 5.0) -> None:
        self._stopped.set()
        self._batches.shutdown(wait=False, cancel_futures=True)
        super().stop(wait_seconds)


def make_workers(
    template: dict[str, Any],
    table_name: str,
    resources: LocalResources,
    sweep_seconds: float,
    stream_after_existing: bool = False,
) -> list[_Worker]:
    """The schedule, the stream pump and the queue poller the template declares, not yet started.

    Make them before serving anything: with `stream_after_existing` the stream pump finds its start
    (after every record already in the table) here, so nothing written once serving starts is skipped.
    """
    workers: list[_Worker] = []
    for spec in functions_with_event(template, ("Schedule", "ScheduleV2")):
        workers.append(Schedule(spec, sweep_seconds))
    for spec in functions_with_event(template, ("DynamoDB",)):
        workers.append(StreamPump(spec, table_name, after_existing=stream_after_existing))
    for spec in functions_with_event(template, ("SQS",)):
        workers.append(QueuePoller(spec, resources.queue_url, resources.queue_arn))
    return workers
