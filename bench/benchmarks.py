"""`make bench`: speed and cost figures, each measured beside its baseline in the same run.

Every figure is a ratio against a baseline measured in the same run on the same machine, because
these machines are noisy. `BENCH_JSON=path` writes the figures as JSON too; `--quick` (what the
test suite runs) uses tiny sample sizes and only proves that everything still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "TABLE_NAME": "agent-sessions-bench",
        "EVENT_BUS_NAME": "agent-sessions-bench-events",
        "WEBHOOK_KEY_ID": "alias/agent-sessions-bench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

TABLE = "agent-sessions-bench"
MEMORY_MB = 512
# AWS on-demand prices, us-east-1 (listed in the README).
PRICE_LAMBDA_ARM_GB_SECOND = Decimal("0.0000133334")
PRICE_LAMBDA_REQUEST = Decimal("0.20") / 1_000_000
PRICE_HTTP_API_REQUEST = Decimal("1.00") / 1_000_000
PRICE_WRU = Decimal("0.625") / 1_000_000
PRICE_RRU = Decimal("0.125") / 1_000_000


# ---- shared helpers ---------------------------------------------------------------------------


@contextmanager
def moto_table(stream: bool = False) -> Iterator[Any]:
    """An in-process moto table shaped by template.yaml (without its stream unless asked)."""
    import boto3
    from moto import mock_aws

    from agent_sessions.dal import dynamo
    from agent_sessions.infra import settings
    from agent_sessions_local.template import load_template, table_definition

    with mock_aws():
        dynamo.default_store.cache_clear()
        settings.load_settings.cache_clear()
        client = boto3.client("dynamodb")
        definition = table_definition(load_template(), TABLE)
        if not stream:
            definition.pop("StreamSpecification", None)
        client.create_table(**definition)
        yield client
    dynamo.default_store.cache_clear()


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class RequestLog:
    """The DynamoDB operations a client sends, with the items each write leaves behind."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._record)

    def _record(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(model.name)


def billed_bytes(client: Any, pk: str) -> int:
    from agent_sessions_local.item_size import item_bytes

    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return item_bytes(item) if item else 0


def wru(size: int, transactional: bool = False) -> int:
    from agent_sessions_local.item_size import write_units

    return write_units(size, transactional)


def open_session(store: Any, created_at: datetime, **limits: Any) -> tuple[Any, Any]:
    from agent_sessions.domain.records import Caller
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreateSessionRequest

    owner = Caller(kind="api_key", account_id="acct_benchbenchbenchbench0000")
    request = CreateSessionRequest.model_validate(
        {"agent_id": "bench", "user_wallet": "w", "duration_hours": 168, "limits": limits}
    )
    created = service.create_session(store, owner, request, created_at)
    caller = service.authenticate(store, f"Bearer {created.session_token}")
    return created, caller


# ---- 1. handler overhead ------------------------------------------------------------------------


def handler_overhead(samples: int) -> dict[str, Any]:
    """Warm payment handler invocations vs the same TransactWriteItems sent raw, same backend."""
    from agent_sessions.dal import dynamo
    from agent_sessions.http.caller_context import authorizer_context
    from agent_sessions.http.resolver import RESOLVER_OPTIONS  # noqa: F401 - imported warm, as on Lambda
    from agent_sessions_local.handlers import load_event, load_handler_module
    from agent_sessions_local.instances import LocalLambdaContext

    with moto_table() as client:
        huge = {"max_per_transaction": 1000, "max_per_day": 10_000_000, "max_per_week": 10_000_000,
                "max_per_month": 10_000_000, "require_approval_above": 1000}  # fmt: skip
        created, caller = open_session(dynamo.default_store(), datetime.now(UTC), **huge)
        handler = load_handler_module("create_payment").lambda_handler
        event = load_event("create_payment")
        event["headers"].pop("idempotency-key")
        event["headers"]["authorization"] = f"Bearer {created.session_token}"
        event["body"] = json.dumps({"amount": 1})
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context(caller)}
        context = LocalLambdaContext(function_name="CreatePaymentFunction")
        sent: list[dict[str, Any]] = []
        dynamo.default_store()._client.meta.events.register(
            "before-parameter-build.dynamodb.TransactWriteItems",
            lambda params, **kwargs: sent.append(copy.deepcopy(params)),
        )
        for _ in range(3):  # warm up: the first payment of an instance reads the session once
            assert handler(event, context)["statusCode"] == 201
        template = sent[-1]
        raw_client = dynamo.default_store()._client
        handler_times, raw_times = [], []
        for number in range(samples):
            started = time.perf_counter()
            assert handler(event, context)["statusCode"] == 201
            handler_times.append(time.perf_counter() - started)
            request = copy.deepcopy(template)
            request["TransactItems"][1]["Put"]["Item"]["pk"] = {"S": f"PAY#raw{number}"}
            request["TransactItems"][0]["Update"]["ExpressionAttributeValues"].pop(":version", None)
            request["TransactItems"][0]["Update"]["ConditionExpression"] = request["TransactItems"][0]["Update"][
                "ConditionExpression"
            ].replace(" AND version = :version", "")
            started = time.perf_counter()
            raw_client.transact_write_items(**request)
            raw_times.append(time.perf_counter() - started)
        assert client
    return {
        "handler_median_ms": median_ms(handler_times),
        "raw_median_ms": median_ms(raw_times),
        "ratio": round(statistics.median(handler_times) / statistics.median(raw_times), 3),
        "samples": samples,
    }


# ---- 2. requests and write units per operation ----------------------------------------------------


def requests_and_write_units() -> dict[str, Any]:
    """DynamoDB requests and billed write units per operation (item sizes by DynamoDB's rules)."""
    from agent_sessions.dal import dynamo
    from agent_sessions.dal.ports import SessionFilter
    from agent_sessions.domain.records import Caller
    from agent_sessions.logic import expiry
    from agent_sessions.logic import payments as payment_service
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreatePaymentRequest

    figures: dict[str, dict[str, int]] = {}
    with moto_table() as client:
        session_store = dynamo.default_store()
        log = RequestLog(session_store._client)
        owner = Caller(kind="api_key", account_id="acct_benchbenchbenchbench0000")

        def measure(name: str, action: Callable[[], Any], written: Callable[[], list[tuple[str, bool]]]) -> Any:
            log.calls.clear()
            result = action()
            calls = [c for c in log.calls]
            units = sum(wru(billed_bytes(client, pk), transactional) for pk, transactional in written())
            figures[name] = {"requests": len(calls), "wru": units}
            return result

        now = datetime.now(UTC)
        created, caller = measure(
            "create", lambda: open_session(session_store, now, require_approval_above=10), lambda: []
        )
        # open_session also authenticates; count the create alone:
        figures["create"] = {"requests": 1, "wru": wru(billed_bytes(client, f"SESS#{created.session.id}"))}
        session_pk = f"SESS#{created.session.id}"
        measure("get", lambda: service.get_session(session_store, owner, created.session.id, now), lambda: [])
        measure(
            "list_page",
            lambda: service.list_sessions(session_store, owner, 50, None, SessionFilter(), now),
            lambda: [],
        )
        small = CreatePaymentRequest.model_validate({"amount": 5})
        payment_service.create_payment(session_store, caller, small, None, now)  # the instance now knows the session
        paid = measure(
            "pay",
            lambda: payment_service.create_payment(session_store, caller, small, None, now),
            lambda: [(session_pk, True), (f"PAY#{last_payment(client)}", True)],
        )
        assert paid.http_status == 201
        large = CreatePaymentRequest.model_validate({"amount": 20})
        held = payment_service.create_payment(session_store, caller, large, None, now).answer.payment
        measure(
            "approve",
            lambda: payment_service.decide_payment(session_store, owner, held.id, True, now),
            lambda: [(session_pk, True), (f"PAY#{held.id}", True)],
        )
        held = payment_service.create_payment(session_store, caller, large, None, now).answer.payment
        measure(
            "reject",
            lambda: payment_service.decide_payment(session_store, owner, held.id, False, now),
            lambda: [(session_pk, True), (f"PAY#{held.id}", True)],
        )
        measure(
            "revoke",
            lambda: service.revoke_session(session_store, owner, created.session.id, now),
            lambda: [(session_pk, False)],
        )
        due = [open_session(session_store, now - timedelta(hours=200))[0] for _ in range(10)]
        log.calls.clear()
        result = expiry.sweep(session_store, now)
        units = sum(wru(billed_bytes(client, f"SESS#{c.session.id}")) for c in due)
        figures["sweep_per_due_session"] = {
            "requests": round(len(log.calls) / max(1, result.sessions_expired), 2),  # type: ignore[dict-item]
            "wru": round(units / max(1, result.sessions_expired), 2),  # type: ignore[dict-item]
        }
    return figures


def last_payment(client: Any) -> str:
    items = client.scan(TableName=TABLE, FilterExpression="#t = :p", ExpressionAttributeNames={"#t": "type"},
                        ExpressionAttributeValues={":p": {"S": "payment"}})["Items"]  # fmt: skip
    return str(max(items, key=lambda item: item["gsi1sk"]["S"])["id"]["S"])


# ---- 3. cold start ----------------------------------------------------------------------------------


def cold_start(runs: int) -> dict[str, Any]:
    """Import and module init of each handler in a fresh interpreter vs boto3 and a DynamoDB client."""
    baseline_code = "import boto3; boto3.client('dynamodb')"
    env = {**os.environ}

    def timed(code: str) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)  # noqa: S603
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    baseline = timed(baseline_code)
    handlers = {}
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        code = (
            "import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('app', {str(app)!r}); "
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
        )
        handlers[app.parent.name] = round(timed(code) / baseline, 3)
    return {"baseline_ms": round(baseline * 1000, 1), "ratio_by_handler": handlers,
            "ratio_max": max(handlers.values()), "runs": runs}  # fmt: skip


# ---- 4. contention --------------------------------------------------------------------------------


def _pay_worker(endpoint: str, token: str, seconds: float, results: Any) -> None:
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    from agent_sessions.dal import dynamo
    from agent_sessions.domain.errors import DomainError
    from agent_sessions.logic import payments as payment_service
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreatePaymentRequest

    session_store = dynamo.default_store()
    caller = service.authenticate(session_store, f"Bearer {token}")
    body = CreatePaymentRequest.model_validate({"amount": 1})
    done = authorized = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            payment_service.create_payment(session_store, caller, body, None, datetime.now(UTC))
            authorized += 1
        except DomainError:
            pass
        done += 1
    results.put((done, authorized))


def _raw_worker(endpoint: str, seconds: float, results: Any) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.update_item(
            TableName=TABLE, Key={"pk": {"S": "counter"}}, UpdateExpression="SET n = if_not_exists(n, :zero) + :one",
            ConditionExpression="attribute_not_exists(n) OR n < :cap",
            ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}, ":cap": {"N": "100000000"}},
        )  # fmt: skip
        done += 1
    results.put((done, done))


def contention(seconds: float, processes: int = 8) -> dict[str, Any]:
    """Payments/s on one session from 8 processes vs raw conditional UpdateItem/s; and overspend."""
    import boto3

    from agent_sessions.dal import dynamo
    from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
    from agent_sessions_local.template import load_template, table_definition

    server = start_embedded_dynamodb_process()
    try:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        definition = table_definition(load_template(), TABLE)
        definition.pop("StreamSpecification", None)
        client.create_table(**definition)
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = server.endpoint_url
        dynamo.default_store.cache_clear()

        def run(target: Callable[..., None], *args: Any) -> tuple[int, int]:
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            workers = [context.Process(target=target, args=(*args, results)) for _ in range(processes)]
            for worker in workers:
                worker.start()
            totals = [results.get(timeout=seconds + 120) for _ in workers]
            for worker in workers:
                worker.join(timeout=30)
            return sum(t[0] for t in totals), sum(t[1] for t in totals)

        huge = {"max_per_transaction": 10, "max_per_day": 10_000_000, "max_per_week": 10_000_000,
                "max_per_month": 10_000_000, "require_approval_above": 10}  # fmt: skip
        created, _ = open_session(dynamo.default_store(), datetime.now(UTC), **huge)
        attempts, _ = run(_pay_worker, server.endpoint_url, created.session_token, seconds)
        raw, _ = run(_raw_worker, server.endpoint_url, seconds)
        capped, _ = open_session(dynamo.default_store(), datetime.now(UTC), max_per_day=100)
        _, authorized = run(_pay_worker, server.endpoint_url, capped.session_token, max(1.0, seconds / 2))
        committed = dynamo.default_store().get_session(capped.session.id).committed_cents.get("d0", 0)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        dynamo.default_store.cache_clear()
        server.stop()
    return {
        "payments_per_second": round(attempts / seconds, 1),
        "raw_updates_per_second": round(raw / seconds, 1),
        "ratio": round(attempts / max(1, raw), 3),
        "overspend_cents": max(0, committed - 100_00),
        "authorized_on_a_100_dollar_limit": authorized,
        "processes": processes,
    }


# ---- 5. sweep reads -----------------------------------------------------------------------------


def sweep_reads(sizes: list[int]) -> dict[str, int]:
    """Items one sweep reads with 100 due among N active sessions (it should not grow with N)."""
    from agent_sessions.dal import codec, dynamo
    from agent_sessions.domain.credentials import hash_secret, new_session_id
    from agent_sessions.domain.records import DEFAULT_LIMITS_CENTS, SessionRecord
    from agent_sessions.logic import expiry

    figures = {}
    for size in sizes:
        with moto_table() as client:
            now = datetime.now(UTC).replace(microsecond=0)
            batch: list[dict[str, Any]] = []
            for index in range(size):
                created = now - timedelta(hours=2) if index < 100 else now
                record = SessionRecord(
                    id=new_session_id(), account_id="acct_benchbenchbenchbench0000", agent_id="a", agent_name=None,
                    user_wallet="w", limits_cents=dict(DEFAULT_LIMITS_CENTS), allowed_merchants=None,
                    stored_status="active", created_at=created, expires_at=created + timedelta(hours=1),
                    token_hash=hash_secret(str(index)),
                )  # fmt: skip
                batch.append({"PutRequest": {"Item": codec.session_item(record)}})
                if len(batch) == 25:
                    client.batch_write_item(RequestItems={TABLE: batch})
                    batch = []
            if batch:
                client.batch_write_item(RequestItems={TABLE: batch})
            read: list[int] = []
            session_store = dynamo.default_store()
            session_store._client.meta.events.register("after-call.dynamodb.Query", _counting_into(read))
            result = expiry.sweep(session_store, now)
            assert result.sessions_expired == 100
            figures[str(size)] = sum(read)
    return figures


def _counting_into(read: list[int]) -> Callable[..., None]:
    def count(parsed: dict[str, Any], **kwargs: Any) -> None:
        read.append(int(parsed.get("ScannedCount", 0)))

    return count


# ---- 6. layer size and cost -----------------------------------------------------------------------


def layer_bytes() -> dict[str, Any]:
    """The layer exactly as `sam build` makes it (layers/agent_sessions/Makefile), zipped."""
    with tempfile.TemporaryDirectory() as work:
        artifacts = Path(work) / "layer"
        subprocess.run(  # noqa: S603
            [shutil.which("make") or "make", "-s", "-C", str(ROOT / "layers/agent_sessions"), "build-SharedLayer",
             f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        archive = Path(work) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as layer:
            for path in sorted(artifacts.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    layer.write(path, path.relative_to(artifacts))
        return {"zipped_bytes": archive.stat().st_size}


def usd_per_million_payments(handler_ms: float, requests: dict[str, Any]) -> dict[str, Any]:
    """On-demand AWS price of a million payments: Lambda arm64, HTTP API, DynamoDB."""
    pay = requests["pay"]
    gb_seconds = Decimal(MEMORY_MB) / 1024 * Decimal(str(handler_ms)) / 1000
    per_payment = (
        gb_seconds * PRICE_LAMBDA_ARM_GB_SECOND
        + PRICE_LAMBDA_REQUEST
        + PRICE_HTTP_API_REQUEST
        + Decimal(pay["wru"]) * PRICE_WRU
        + Decimal(1) * PRICE_RRU  # the authorizer's consistent read (its answer is cached for 300 s)
    )
    return {"usd": float(round(per_payment * 1_000_000, 2)), "handler_ms": handler_ms, "memory_mb": MEMORY_MB}


# ---- the run ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny samples: proves the benchmarks still run")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("BENCH_QUICK") == "1"
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "quick": quick,
    }
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric lines (EMF) would bury the table
        results["handler_overhead"] = handler_overhead(20 if quick else 300)
    results["requests_per_op_and_wru_per_op"] = requests_and_write_units()
    results["cold_start"] = cold_start(1 if quick else 10)
    results["contention"] = contention(1.0 if quick else 10.0)
    results["sweep_reads"] = sweep_reads([1_000] if quick else [1_000, 10_000, 100_000])
    results["layer_bytes"] = layer_bytes()
    results["usd_per_million_payments"] = usd_per_million_payments(
        results["handler_overhead"]["handler_median_ms"], results["requests_per_op_and_wru_per_op"]
    )
    print_table(results)
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def print_table(results: dict[str, Any]) -> None:
    overhead, cold, contended = results["handler_overhead"], results["cold_start"], results["contention"]
    overhead_detail = f"{overhead['handler_median_ms']} ms vs raw {overhead['raw_median_ms']} ms"
    contention_detail = (
        f"{contended['payments_per_second']}/s vs raw {contended['raw_updates_per_second']}/s,"
        f" overspend {contended['overspend_cents']}"
    )
    rows = [
        ("handler_overhead", f"{overhead['ratio']}x", overhead_detail),
        ("cold_start (max)", f"{cold['ratio_max']}x", f"vs boto3 + client {cold['baseline_ms']} ms"),
        ("contention", f"{contended['ratio']}x", contention_detail),
        ("sweep_reads", "", ", ".join(f"{n}: {reads}" for n, reads in results["sweep_reads"].items())),
        ("layer_bytes", "", str(results["layer_bytes"]["zipped_bytes"])),
        ("usd_per_million_payments", "", f"${results['usd_per_million_payments']['usd']}"),
    ]  # fmt: skip
    for name, figures in results["requests_per_op_and_wru_per_op"].items():
        rows.append((f"  {name}", "", f"{figures['requests']} requests, {figures['wru']} WRU"))
    width = max(len(row[0]) for row in rows)
    print(f"agent-sessions benchmarks ({results['date']}, {results['machine']}{', quick' if results['quick'] else ''})")
    for name, ratio, detail in rows:
        print(f"{name.ljust(width)}  {ratio:>7}  {detail}")


if __name__ == "__main__":
    sys.exit(main())
