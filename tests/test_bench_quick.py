"""`make bench` in its quick mode still runs and reports every figure (the real run is `make bench`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from agent_sessions_local.template import PROJECT_ROOT


def test_the_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "TABLE_NAME"))}
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(PROJECT_ROOT / "bench" / "benchmarks.py"), "--quick"],
        env={**environment, "BENCH_JSON": str(output)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert figures["handler_overhead"]["ratio"] > 0
    operations = figures["requests_per_op_and_wru_per_op"]
    assert set(operations) == {
        "create",
        "get",
        "list_page",
        "revoke",
        "pay",
        "approve",
        "settlement",
        "reject",
        "check",
        "patch",
        "patch_known",
        "sweep_per_due_session",
    }
    assert operations["pay"] == {"requests": 1, "wru": 4}
    assert operations["approve"] == operations["reject"] == {"requests": 1, "wru": 1}  # one write to the session
    assert operations["settlement"] == {"requests": 1, "wru": 4}  # the outbox's transaction, after
    assert operations["check"] == {"requests": 1, "wru": 0}  # one read, nothing written
    assert operations["patch"] == {"requests": 1, "wru": 1}  # written blind: the named terms and what they were
    assert operations["patch_known"] == {"requests": 1, "wru": 1}  # the same instance's next change: the write
    assert set(figures["cold_start"]["ratio_by_handler"]) == {"authorizer", "create_payment", "publish_events"}
    assert all(ratio > 0 for ratio in figures["cold_start"]["ratio_by_handler"].values())
    assert all(len(top) == 5 for top in figures["cold_start"]["largest_imports_ms"].values())
    printed = {line.split()[2]: line for line in done.stdout.splitlines() if line.startswith("  imports of ")}
    assert set(printed) == {"authorizer", "create_payment", "publish_events"}  # each timed handler's five
    assert all(line.count(" ms") == 5 for line in printed.values())
    assert figures["stubbed_overhead"]["ratio"] > 0
    assert figures["stubbed_overhead"]["handler_cpu_ms"] > 0
    deployed = figures["stubbed_overhead_as_deployed"]
    assert deployed["ratio"] > 0
    assert deployed["traced"] is True  # the handler's segments reached the stand-in X-Ray daemon
    measured = deployed["samples"] + 20  # and the warm-up invocations
    assert deployed["log_lines"] >= measured  # "payment created" at INFO, each invocation
    assert deployed["metric_lines"] >= measured  # EMF flushed each invocation
    assert figures["contention"]["raw_transactions_per_second"] > 0
    curve = figures["local_runtime"]["curve"]
    assert [point["payments"] for point in curve] == [50, 100]
    assert all(point["runtime_rss_mb"]["embedded_dynamodb"] > 0 for point in curve)
    assert figures["contention"]["overspend_cents"] == 0
    assert figures["sweep_reads"]["1000"] <= 110
    assert figures["layer_bytes"]["zipped_bytes"] > 0
    assert figures["usd_per_million_payments"]["usd"] > 0
    assert "handler_overhead" in done.stdout
