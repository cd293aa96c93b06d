"""Benchmarks 1-3: handler overhead, requests and write units per operation, cold start."""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from common import (
    ROOT,
    TABLE,
    RequestLog,
    billed_bytes,
    captured_transactions,
    median_ms,
    moto_table,
    open_session,
    payment_handler_on_a_roomy_session,
    unpinned,
    wru,
)

# ---- 1. handler overhead ------------------------------------------------------------------------


def handler_overhead(samples: int) -> dict[str, Any]:
    """Warm payment handler invocations vs the same TransactWriteItems sent raw, same backend."""
    from agent_sessions.dal import dynamo
    from agent_sessions.http.resolver import RESOLVER_OPTIONS  # noqa: F401 - imported warm, as on Lambda

    with moto_table() as client:
        handler, event, context, _ = payment_handler_on_a_roomy_session({"amount": 1})
        with captured_transactions(dynamo.default_store()._client) as sent:
            for _ in range(3):  # warm up: the first payment of an instance reads the session once
                assert handler(event, context)["statusCode"] == 201
        template = sent[-1]
        raw_client = dynamo.default_store()._client
        handler_times, raw_times = [], []
        for number in range(samples):
            started = time.perf_counter()
            assert handler(event, context)["statusCode"] == 201
            handler_times.append(time.perf_counter() - started)
            request = unpinned(template)
            request["TransactItems"][1]["Put"]["Item"]["pk"] = {"S": f"PAY#raw{number}"}
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


def stubbed_overhead(samples: int) -> dict[str, Any]:
    """Our own CPU per payment: the payment handler against a DynamoDB that answers at once.

    botocore's Stubber answers every TransactWriteItems immediately, so no emulator's cost hides
    ours. The bare handler does what any payment handler must: `json.loads` of the body and the
    same TransactWriteItems call, through the same client and stub. Both are timed in CPU time
    (`time.process_time`), interleaved, warm; the ratio is what our handler costs per payment
    over that minimum, and `handler_cpu_ms` what it costs on this machine.
    """
    from botocore.stub import Stubber

    from agent_sessions.dal import dynamo
    from agent_sessions.logic import payments as payment_service

    with moto_table():
        handler, event, context, created = payment_handler_on_a_roomy_session(
            {"amount": 1, "merchant_id": "merchant_amazon"}
        )
        client = dynamo.default_store()._client
        assert handler(event, context)["statusCode"] == 201  # the instance now knows the session
        with captured_transactions(client) as sent:
            assert handler(event, context)["statusCode"] == 201
        template = sent[-1]  # pinned to the session's version, as every timed payment's is
        assert ":version" in template["TransactItems"][0]["Update"]["ExpressionAttributeValues"]
        session = dynamo.default_store().get_session(created.session.id)
        assert session is not None

        def bare(raw_event: dict[str, Any], _: Any) -> dict[str, Any]:
            json.loads(raw_event["body"], parse_float=Decimal)
            client.transact_write_items(**template)
            return {"statusCode": 201}

        handler_times, bare_times = [], []
        with Stubber(client) as stub:
            for number in range(samples + 20):
                payment_service.known_sessions.remember(session)  # every payment pinned, as when warm
                stub.add_response("transact_write_items", {})
                started = time.process_time()
                assert handler(event, context)["statusCode"] == 201
                handler_cpu = time.process_time() - started
                stub.add_response("transact_write_items", {})
                started = time.process_time()
                bare(event, context)
                bare_cpu = time.process_time() - started
                if number >= 20:  # the first ones warm both up
                    handler_times.append(handler_cpu)
                    bare_times.append(bare_cpu)
    return {
        "handler_cpu_ms": median_ms(handler_times),
        "bare_cpu_ms": median_ms(bare_times),
        "ratio": round(statistics.median(handler_times) / statistics.median(bare_times), 3),
        "samples": samples,
    }


def stubbed_overhead_as_deployed(samples: int) -> dict[str, Any]:
    """stubbed_overhead with logs, metrics and tracing on as deployed (in a fresh interpreter).

    See stubbed_as_deployed.py: logs at INFO, metrics flushed per invocation, X-Ray in its Lambda
    mode with botocore patched (the bare handler's call, through the same client, is traced too).
    """
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "stubbed_as_deployed.json"
        script = ROOT / "bench" / "stubbed_as_deployed.py"
        subprocess.run([sys.executable, str(script), str(samples), str(result)], check=True, cwd=ROOT)  # noqa: S603
        return dict(json.loads(result.read_text()))


# ---- 2. requests and write units per operation ----------------------------------------------------


def requests_and_write_units() -> dict[str, Any]:
    """DynamoDB requests and billed write units per operation (item sizes by DynamoDB's rules)."""
    from agent_sessions.dal import dynamo
    from agent_sessions.dal.ports import SessionFilter
    from agent_sessions.domain.records import Caller
    from agent_sessions.logic import expiry, payment_decisions, settlement
    from agent_sessions.logic import payments as payment_service
    from agent_sessions.logic import sessions as service
    from agent_sessions.logic.outbox import Change
    from agent_sessions.logic.payment_checks import check_payment
    from agent_sessions.logic.session_updates import update_session
    from agent_sessions.wire.models import CreatePaymentRequest, UpdateSessionRequest

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
        approved = measure(  # one write to the session; the outbox settles it after (below)
            "approve",
            lambda: payment_decisions.approve_payment(session_store, owner, held.id, now),
            lambda: [(session_pk, False)],
        )
        measure(
            "settlement",  # in the outbox, from the decision's stream record: the payment's item and the session's
            lambda: settlement.settle_decisions(session_store, [Change("c", None, approved.session, now)]),
            lambda: [(session_pk, True), (f"PAY#{held.id}", True)],
        )
        held = payment_service.create_payment(session_store, caller, large, None, now).answer.payment
        measure(
            "reject",
            lambda: payment_decisions.reject_payment(session_store, owner, held.id, now),
            lambda: [(session_pk, False)],
        )
        measure(
            "check",
            lambda: check_payment(session_store, caller, None, small, now),
            lambda: [],
        )
        change = UpdateSessionRequest.model_validate({"rate_limits": {"payments": {"per_minute": 100}}})
        measure(
            "patch",
            lambda: update_session(session_store, owner, created.session.id, change, "0", now),
            lambda: [(session_pk, False)],
        )
        change = UpdateSessionRequest.model_validate({"rate_limits": {"payments": {"per_minute": 90}}})
        measure(  # the next change from the same instance: it knows the session at version 1
            "patch_known",
            lambda: update_session(session_store, owner, created.session.id, change, "1", now),
            lambda: [(session_pk, False)],
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


# The handlers a quick run times (the payment, the authorizer every request passes, the outbox).
QUICK_COLD_STARTS = ("authorizer", "create_payment", "publish_events")


def cold_start(runs: int, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Import and module init of each handler (or `only` those) in a fresh interpreter vs boto3 and a DynamoDB client.

    Interleaved: each round times the baseline, then every handler, so a busy machine slows both
    alike; the median of `runs` rounds. With each handler, the five imports that cost it most
    (`python -X importtime`, cumulative), so a regression names its cause.
    """
    baseline_code = "import boto3; boto3.client('dynamodb')"
    env = {**os.environ, "TABLE_NAME": TABLE, "EVENT_BUS_NAME": "bench", "WEBHOOK_KEY_ID": "bench"}
    compiled_as_deployed()
    apps = [app for app in sorted((ROOT / "functions").glob("*/app.py")) if only is None or app.parent.name in only]
    codes = {app.parent.name: _import_code(app) for app in apps}
    baseline: list[float] = []
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        baseline.append(_timed_run(baseline_code, env))
        for name, code in codes.items():
            samples[name].append(_timed_run(code, env))
    base = statistics.median(baseline)
    handlers = {name: round(statistics.median(times) / base, 3) for name, times in samples.items()}
    return {"baseline_ms": round(base * 1000, 1), "ratio_by_handler": handlers,
            "ratio_max": max(handlers.values()), "runs": runs,
            "largest_imports_ms": {name: _largest_imports(code, env) for name, code in codes.items()}}  # fmt: skip


def compiled_as_deployed() -> None:
    """The layer's modules compiled ahead, as the layer ships them (its Makefile) and as pip compiled boto3.

    In place and timestamp-checked, so an edit is still seen; this machine may set
    PYTHONDONTWRITEBYTECODE, which would otherwise make every run compile the package anew. The
    handlers' own app.py stay uncompiled, as SAM packages them.
    """
    compileall.compile_dir(ROOT / "layers" / "agent_sessions" / "agent_sessions", quiet=1)


def _import_code(app: Any) -> str:
    return (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('app', {str(app)!r}); "
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
    )


def _timed_run(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)  # noqa: S603
    return time.perf_counter() - started


def _largest_imports(code: str, env: dict[str, str], top: int = 5) -> dict[str, float]:
    """The `top` modules with the largest cumulative import time (ms), outermost first among equals."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, text=True
    )
    costs: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            costs.append((int(parts[1]), parts[2].strip()))
    largest: dict[str, float] = {}
    for micros, name in sorted(costs, reverse=True):  # a module can appear twice (nested): keep its largest
        if name not in largest and len(largest) < top:
            largest[name] = round(micros / 1000, 1)
    return largest
