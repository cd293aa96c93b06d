"""Benchmarks 4-6: contention, sweep reads, layer size and the cost per million payments."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import (
    MEMORY_MB,
    PRICE_HTTP_API_REQUEST,
    PRICE_LAMBDA_ARM_GB_SECOND,
    PRICE_LAMBDA_REQUEST,
    PRICE_RRU,
    PRICE_WRU,
    ROOT,
    TABLE,
    captured_transactions,
    moto_table,
    open_session,
    unpinned,
)

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


def _raw_worker(endpoint: str, template: dict[str, Any], seconds: float, results: Any) -> None:
    """The payment's own TransactWriteItems (session debit + ledger put), sent raw, each with a new payment."""
    import copy

    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        request = copy.deepcopy(template)
        request["TransactItems"][1]["Put"]["Item"]["pk"] = {"S": f"PAY#raw-{os.getpid()}-{done}"}
        client.transact_write_items(**request)
        done += 1
    results.put((done, done))


def _captured_payment_transaction(session_store: Any, token: str) -> dict[str, Any]:
    """One real payment's TransactWriteItems, unpinned (as a burst's payments are), to send raw."""
    from agent_sessions.logic import payments as payment_service
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreatePaymentRequest

    caller = service.authenticate(session_store, f"Bearer {token}")
    body = CreatePaymentRequest.model_validate({"amount": 1})
    with captured_transactions(session_store._client) as sent:
        payment_service.create_payment(session_store, caller, body, None, datetime.now(UTC))
    return unpinned(sent[-1])


def contention(seconds: float, processes: int = 8) -> dict[str, Any]:
    """Payments/s on one session from 8 processes vs the same transactions sent raw; and overspend.

    Like for like: the raw workers send the very TransactWriteItems a payment sends (captured from
    a real one), so the ratio is what our code costs on top of the transaction, not moto's
    transaction cost against a plain UpdateItem.
    """
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
        template = _captured_payment_transaction(dynamo.default_store(), created.session_token)
        attempts, _ = run(_pay_worker, server.endpoint_url, created.session_token, seconds)
        raw, _ = run(_raw_worker, server.endpoint_url, template, seconds)
        capped, _ = open_session(dynamo.default_store(), datetime.now(UTC), max_per_day=100)
        _, authorized = run(_pay_worker, server.endpoint_url, capped.session_token, max(1.0, seconds / 2))
        committed = dynamo.default_store().get_session(capped.session.id).committed_cents.get("d0", 0)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        dynamo.default_store.cache_clear()
        server.stop()
    return {
        "payments_per_second": round(attempts / seconds, 1),
        "raw_transactions_per_second": round(raw / seconds, 1),
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
                if path.is_file():  # the compiled modules too: sam build zips the whole directory
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
