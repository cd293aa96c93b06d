"""The embedded DynamoDB's journal (`--data-dir`): once a write is answered, the file holds it.

Drawn sequences of every kind of write the API could send (puts, updates, deletes, transactions
that commit or are cancelled, batches; numbers with cents, text, binary, sets, nested maps) go to
the embedded DynamoDB while it journals one table. After every answered request the file, read
back as a restart reads it, must be exactly the table: no write missing, none a cancelled
transaction made, and that through the file's rewrites too. A second table's writes stay out.

Around it: a killed embedded DynamoDB leaves every answered write in the file; a last line cut
short is left out, a damaged one before it is named; a directory in use, or one that cannot be
made, is refused in one line; PartiQL writes are kept too.
"""

import itertools
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions_local import data_dir
from agent_sessions_local.data_dir import DataDirUnusable, kept_items, prepare, to_file_json
from agent_sessions_local.embedded_dynamodb import EmbeddedDynamoDBProcess, start_embedded_dynamodb_process
from agent_sessions_local.template import load_template, table_definition

KEYS = ["a", "b", "c", "d", "e"]
_tables = itertools.count()


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[EmbeddedDynamoDBProcess, Any]]:
    server = start_embedded_dynamodb_process()
    try:
        yield server, boto3.client("dynamodb", endpoint_url=server.endpoint_url)
    finally:
        server.stop()


def new_table(client: Any) -> str:
    name = f"journaled{next(_tables)}"
    client.create_table(**table_definition(load_template(), name))
    return name


cents = st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: f"{n // 100}.{abs(n) % 100:02d}")
text = st.text(min_size=1, max_size=30)
scalar = st.one_of(
    cents.map(lambda n: {"N": n}),
    text.map(lambda s: {"S": s}),
    st.binary(min_size=1, max_size=20).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.sets(text, min_size=1, max_size=4).map(lambda s: {"SS": sorted(s)}),
    st.sets(st.binary(min_size=1, max_size=8), min_size=1, max_size=3).map(lambda s: {"BS": sorted(s)}),
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(["x", "B", "BS", "S", "M"]), inner, max_size=3).map(lambda m: {"M": m}),
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
    ),
    max_leaves=6,
)
attributes = st.dictionaries(st.sampled_from(["n", "s", "m", "data", "B", "BS"]), value, max_size=3)
key = st.sampled_from(KEYS).map(lambda k: {"pk": {"S": k}})


def update(k: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, Any]) -> tuple[str, Any]:
    body: dict[str, Any] = {"Key": k, "UpdateExpression": expression}
    if names:
        body["ExpressionAttributeNames"] = names
    if values:
        body["ExpressionAttributeValues"] = values
    return "Update", body


put = st.builds(lambda k, attrs: ("Put", {"Item": {**attrs, **k}}), key, attributes)
set_value = st.builds(
    lambda k, name, v: update(k, "SET #a = :v", {"#a": name}, {":v": v}),
    key,
    st.sampled_from(["n", "s", "data"]),
    value,
)
add_cents = st.builds(
    lambda k, amount: update(k, "SET c = if_not_exists(c, :zero) + :a", {}, {":zero": {"N": "0"}, ":a": {"N": amount}}),
    key,
    cents,
)
remove = st.builds(lambda k, name: update(k, "REMOVE #a", {"#a": name}, {}), key, st.sampled_from(["n", "s", "m", "c"]))
delete = st.builds(lambda k: ("Delete", {"Key": k}), key)
conditional = st.builds(  # refused when the item exists: a refused write, or a cancelled transaction
    lambda k: ("ConditionCheck", {"Key": k, "ConditionExpression": "attribute_not_exists(pk)"}), key
)
one_write = st.one_of(put, set_value, add_cents, remove, delete)


def distinct_keys(writes: list[tuple[str, dict[str, Any]]]) -> bool:
    named = [json.dumps(body.get("Item", body.get("Key"))["pk"]) for _, body in writes]
    return len(named) == len(set(named))


request = st.one_of(
    st.tuples(st.just("single"), one_write, st.booleans()),
    st.tuples(
        st.just("transaction"),
        st.lists(st.one_of(one_write, conditional), min_size=1, max_size=4).filter(distinct_keys),
    ),
    st.tuples(st.just("batch"), st.lists(st.one_of(put, delete), min_size=1, max_size=5).filter(distinct_keys)),
)
REFUSED = ("ConditionalCheckFailedException", "TransactionCanceledException")


def send(client: Any, table: str, drawn: tuple[Any, ...]) -> str:
    """One request; a refused condition or a cancelled transaction is an answer too (nothing written)."""
    kind = drawn[0]
    try:
        if kind == "single":
            (operation, body), guarded = drawn[1], drawn[2]
            body = {**body, "TableName": table}
            if guarded and operation != "Put":
                body["ConditionExpression"] = "attribute_exists(pk)"
            {"Put": client.put_item, "Update": client.update_item, "Delete": client.delete_item}[operation](**body)
        elif kind == "transaction":
            client.transact_write_items(TransactItems=[{op: {**body, "TableName": table}} for op, body in drawn[1]])
        else:
            writes = [
                {"PutRequest": {"Item": body["Item"]}} if op == "Put" else {"DeleteRequest": {"Key": body["Key"]}}
                for op, body in drawn[1]
            ]
            client.batch_write_item(RequestItems={table: writes})
    except ClientError as refused:
        return str(refused.response["Error"]["Code"])
    return "written"


def table_items(client: Any, table: str) -> list[str]:
    return sorted(json.dumps(to_file_json(item), sort_keys=True) for item in client.scan(TableName=table)["Items"])


def file_items(path: Path) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in kept_items(path))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    requests=st.lists(request, min_size=1, max_size=14),
    before=st.lists(put, max_size=4),
    rewrite_after=st.integers(min_value=1, max_value=8),
)
def test_the_file_is_the_table_after_every_answered_write(
    embedded: tuple[EmbeddedDynamoDBProcess, Any],
    tmp_path_factory: pytest.TempPathFactory,
    requests: list[tuple[Any, ...]],
    before: list[tuple[str, dict[str, Any]]],
    rewrite_after: int,
) -> None:
    server, client = embedded
    table, other = new_table(client), new_table(client)
    for _, body in before:  # what a restart put back, before the journal starts
        client.put_item(TableName=table, **body)
    path = tmp_path_factory.mktemp("journal") / "table.jsonl"
    server.journal_to(table, path, rewrite_after=rewrite_after)
    assert file_items(path) == table_items(client, table)
    for drawn in requests:
        assert send(client, table, drawn) in ("written", *REFUSED)
        send(client, other, drawn)  # another table's writes are not the journal's
        assert file_items(path) == table_items(client, table)
    assert len(path.read_text().splitlines()) <= max(rewrite_after, 2 * len(table_items(client, table))) + 5


def test_a_line_cut_short_at_the_end_was_never_answered_and_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "table.jsonl"
    whole = json.dumps({"pk": {"S": "a"}, "n": {"N": "1.5"}})
    path.write_text(whole + "\n" + json.dumps({"pk": {"S": "a"}, "n": {"N": "2"}})[:-7])
    assert kept_items(path) == [json.loads(whole)]


not_an_item = st.one_of(
    st.text(max_size=20).filter(lambda line: line.strip() and _not_json_object_with_a_key(line)),
    st.sampled_from(["[1, 2]", "{}", '{"$deleted": 5}', '{"$deleted": {}}', "null", "7", '"pk"', '{"n": {"N": "1"}}']),
)


def _not_json_object_with_a_key(line: str) -> bool:
    try:
        value = json.loads(line)
    except ValueError:
        return True
    return not (isinstance(value, dict) and "pk" in value)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(before=st.integers(min_value=0, max_value=3), damage=not_an_item)
def test_a_damaged_line_before_the_end_is_named_and_nothing_is_restored(
    tmp_path_factory: pytest.TempPathFactory, before: int, damage: str
) -> None:
    path = tmp_path_factory.mktemp("damaged") / "table.jsonl"
    whole = json.dumps({"pk": {"S": "a"}, "n": {"N": "1.5"}})
    path.write_text(f"{whole}\n" * before + damage.replace("\n", " ").replace("\r", " ") + f"\n{whole}\n")
    with pytest.raises(DataDirUnusable, match=f"line {before + 1} is not an item"):
        kept_items(path)


def test_a_data_dir_in_use_by_another_runtime_is_refused_until_it_is_released(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare(data)
    held = data_dir._held[-1]
    try:
        with pytest.raises(DataDirUnusable, match="in use by another agent-sessions local"):
            prepare(data)
    finally:
        data_dir._held.remove(held)
        held.close()  # as when the first runtime's process ends
    prepare(data)
    data_dir._held.pop().close()


def test_a_killed_embedded_dynamodb_leaves_every_answered_write_in_the_file(tmp_path: Path) -> None:
    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        client.create_table(**table_definition(load_template(), "t"))
        path = tmp_path / "table.jsonl"
        server.journal_to("t", path, rewrite_after=7)
        for number in range(40):
            client.put_item(TableName="t", Item={"pk": {"S": f"k{number % 13}"}, "n": {"N": f"{number}.01"}})
        expected = table_items(client, "t")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    finally:
        server.stop()
    assert file_items(path) == expected


def test_a_data_dir_that_is_a_file_or_cannot_be_made_is_refused_in_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.raises(DataDirUnusable, match="is not a directory"):
        prepare(a_file)
    with pytest.raises(DataDirUnusable, match="Not a directory"):
        prepare(a_file / "data")


def test_journaling_a_table_the_embedded_dynamodb_does_not_have_is_an_error_not_a_hang(
    embedded: tuple[EmbeddedDynamoDBProcess, Any], tmp_path: Path
) -> None:
    server, _ = embedded
    with pytest.raises(RuntimeError, match=r"could not keep .*no table nowhere"):
        server.journal_to("nowhere", tmp_path / "table.jsonl")
    assert not (tmp_path / "table.jsonl").exists()


def test_partiql_writes_are_kept_too(embedded: tuple[EmbeddedDynamoDBProcess, Any], tmp_path: Path) -> None:
    server, client = embedded
    table = new_table(client)
    path = tmp_path / "table.jsonl"
    server.journal_to(table, path)
    client.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'n': 1}}")
    client.execute_transaction(TransactStatements=[{"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b'}}"}])
    assert file_items(path) == table_items(client, table)
    assert len(file_items(path)) == 2
