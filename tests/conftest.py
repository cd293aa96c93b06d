"""Fixtures shared by every test: a moto table built from template.yaml, handlers and events."""

import contextlib
import copy
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import utc_now
from agent_sessions.infra import event_bus, settings
from agent_sessions.logic import sessions as service
from agent_sessions_local import moto_serialization
from agent_sessions_local.commands import ensure_table
from agent_sessions_local.handlers import load_event as load_event  # re-exported for the tests
from agent_sessions_local.handlers import load_handler_module
from agent_sessions_local.instances import LocalLambdaContext
from agent_sessions_local.template import load_template, table_definition
from tests.support.local_service import LocalService, local_service_process

TABLE_NAME = "agent-sessions-test"
EVENT_BUS_NAME = "agent-sessions-test-events"
EVENTS_ACCOUNT_ID = "acct_eventsexampleaccount0000"

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "TABLE_NAME": TABLE_NAME,
        "EVENT_BUS_NAME": EVENT_BUS_NAME,
        "WEBHOOK_KEY_ID": "alias/agent-sessions-test",  # the webhook tests set a real moto key
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
moto_serialization.install()  # the in-process moto answers as the embedded one does (and as fast)


# The modules whose tests take longest (tens of seconds of one worker each, on a 2-core machine),
# longest first. They run before the rest, so the two workers end together instead of one of them
# still running a long test after the other has run out of work.
LONGEST_FIRST = (
    "tests/concurrency/test_concurrent_payments.py",
    "tests/e2e/test_schemathesis.py",
    "tests/test_bench_quick.py",
    "tests/property/test_payment_state_machine.py",
    "tests/e2e/test_data_dir.py",
    "tests/e2e/test_sdk_behaviours_over_http.py",
    "tests/concurrency/test_concurrent_decisions.py",
    "tests/integration/test_publish_events.py",
    "tests/integration/test_expiry.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first (see LONGEST_FIRST); otherwise the collected order, module by module."""

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


def _reset_cached_clients() -> None:
    dynamo.default_store.cache_clear()
    settings.load_settings.cache_clear()
    event_bus.default_bus.cache_clear()


# moto would start each test with a new boto3 session, whose first client reads the service models
# and endpoint rules from disk again (about 50 ms a test). Every client is mocked either way: moto
# intercepts in botocore's built-in handlers, which every session has.
KEEP_BOTO3_SESSION = {"core": {"reset_boto3_session": False}}


def moto_table() -> Iterator[Any]:
    """A moto DynamoDB with the template's table; the process's store points at it."""
    with mock_aws(config=KEEP_BOTO3_SESSION):
        _reset_cached_clients()
        client = boto3.client("dynamodb")
        ensure_table(client, load_template(), TABLE_NAME)
        yield client
    _reset_cached_clients()


def dynalite_table(endpoint_url: str) -> Iterator[Any]:
    """A fresh table in dynalite (no stream, no TTL: it has neither); the store points at it."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint_url
    _reset_cached_clients()
    client = boto3.client("dynamodb")
    definition = table_definition(load_template(), TABLE_NAME)
    definition.pop("StreamSpecification", None)
    client.create_table(**definition)
    _wait_for_table(client, "ACTIVE")  # dynalite creates (and deletes) in the background, as DynamoDB does
    try:
        yield client
    finally:
        try:
            client.delete_table(TableName=TABLE_NAME)
            _wait_for_table(client, None)
        finally:
            os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
            _reset_cached_clients()


def _wait_for_table(client: Any, status: str | None, seconds: float = 10) -> None:
    """Until the test table has `status` (None: until it is gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            current = client.describe_table(TableName=TABLE_NAME)["Table"]["TableStatus"]
        except client.exceptions.ResourceNotFoundException:
            current = None
        if current == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"{TABLE_NAME} did not become {status or 'deleted'} within {seconds} s")


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB with the template's table; the process's store points at it."""
    yield from moto_table()


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """dynalite running for the whole test session; stopped by its PID at the end."""
    from tests.support.dynalite import start_dynalite

    server = start_dynalite()
    yield server.endpoint_url
    server.stop()


@pytest.fixture(params=["moto", "dynalite"])
def moto_or_dynalite(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The same table on moto and on dynalite: modules whose paths use no transactions, streams or
    TTL make their `dynamodb` fixture this one, so each of their tests runs on both."""
    if request.param == "moto":
        yield from moto_table()
    else:
        yield from dynalite_table(request.getfixturevalue("dynalite_endpoint"))


@pytest.fixture(scope="session")
def local_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalService]:
    """The local runtime (`agent-sessions local`) in a subprocess for the whole test session."""
    yield from local_service_process(tmp_path_factory)


@pytest.fixture
def kms_key(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto KMS key for webhook secrets, named by WEBHOOK_KEY_ID (the template makes one on AWS)."""
    from agent_sessions.infra import secret_box

    key_id = str(boto3.client("kms").create_key(Description="webhook secrets")["KeyMetadata"]["KeyId"])
    monkeypatch.setenv("WEBHOOK_KEY_ID", key_id)
    secret_box.default_secret_box.cache_clear()
    settings.load_settings.cache_clear()
    return key_id


@pytest.fixture
def session_store(dynamodb: Any) -> dynamo.DynamoStore:
    """The store the handlers use, over the moto table."""
    return dynamo.default_store()


@pytest.fixture
def api_key(session_store: dynamo.DynamoStore) -> service.MintedApiKey:
    """A freshly minted API key with its own account."""
    return service.mint_api_key(session_store, utc_now(), label="test")


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(dynamodb: Any) -> Invoke:
    """Invoke functions/<name>/app.py with an event; returns the proxy response, body parsed."""

    def _invoke(function_dir: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = load_handler_module(function_dir).lambda_handler
        response = dict(handler(event, LocalLambdaContext(function_name=function_dir)))
        if "statusCode" in response:  # an HTTP answer: its JSON body parsed as well (the console's is HTML)
            content_type = str((response.get("headers") or {}).get("Content-Type", "application/json"))
            json_body = response.get("body") and content_type.startswith("application/json")
            response["json"] = json.loads(response["body"]) if json_body else None
        return response

    return _invoke


@contextlib.contextmanager
def dynamodb_requests() -> Iterator[list[str]]:
    """The names of the DynamoDB operations the handlers' client sends while inside, in order."""
    calls: list[str] = []
    client = dynamo.default_store()._client

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb.*", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", record)


def with_session_id(event: dict[str, Any], session_id: str) -> dict[str, Any]:
    """An events/ file's event retargeted at another session id."""
    placeholder = event["pathParameters"]["id"]
    text = json.dumps(event).replace(placeholder, session_id)
    return dict(json.loads(text))


def with_caller(event: dict[str, Any], context: dict[str, Any] | None) -> dict[str, Any]:
    """The event as the authorizer would hand it over for another caller (None: anonymous)."""
    event = copy.deepcopy(event)
    event["requestContext"]["authorizer"] = {"lambda": context or {"credential": "none"}}
    return event


def with_body(event: dict[str, Any], body: str) -> dict[str, Any]:
    """The event with a raw body."""
    event = copy.deepcopy(event)
    event["body"] = body
    return event


def with_credential(invoke: Invoke, event: dict[str, Any], credential: str) -> dict[str, Any]:
    """The event as API Gateway would pass it on for `credential`: the real authorizer's context."""
    event = copy.deepcopy(event)
    event["headers"]["authorization"] = f"Bearer {credential}"
    answer = invoke("authorizer", {**event, "type": "REQUEST"})
    event["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    return event


def with_payment_id(event: dict[str, Any], payment_id: str) -> dict[str, Any]:
    """An events/ payment event retargeted at another payment id."""
    placeholder = event["pathParameters"]["id"]
    return dict(json.loads(json.dumps(event).replace(placeholder, payment_id)))


@pytest.fixture
def bus_queue(dynamodb: Any) -> tuple[Any, str]:
    """The custom bus, with a rule sending everything from agent-sessions to an SQS queue we read."""
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name=EVENT_BUS_NAME)
    queue_url = sqs.create_queue(QueueName="observed-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="observe", EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps({"source": ["agent-sessions"]})
    )
    events.put_targets(Rule="observe", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return sqs, queue_url
