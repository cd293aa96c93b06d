"""`make bench`: speed and cost figures, each measured beside its baseline in the same run.

Every figure is a ratio against a baseline measured in the same run on the same machine, because
these machines are noisy. `BENCH_JSON=path` writes the figures as JSON too; `--quick` (what the
test suite runs) uses tiny sample sizes, times the cold start of three handlers instead of every
one, and only proves that everything still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common  # noqa: F401 - first: sets the environment the layer reads
from load_and_cost import contention, layer_bytes, sweep_reads, usd_per_million_payments
from local_runtime import local_runtime_curve
from timing import (
    QUICK_COLD_STARTS,
    cold_start,
    handler_overhead,
    requests_and_write_units,
    stubbed_overhead,
    stubbed_overhead_as_deployed,
)

# ---- the run ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny samples: proves the benchmarks still run")
    args = parser.parse_args()
    results = run(args.quick or os.environ.get("BENCH_QUICK") == "1")
    print_table(results)
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def run(quick: bool) -> dict[str, Any]:
    """Every figure, with tiny samples when `quick`."""
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "quick": quick,
    }
    # First, while this process is still small and idle: it only starts the fresh interpreters it times.
    results["cold_start"] = cold_start(1, QUICK_COLD_STARTS) if quick else cold_start(10)
    with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric lines (EMF) would bury the table
        results["handler_overhead"] = handler_overhead(20 if quick else 300)
        results["stubbed_overhead"] = stubbed_overhead(20 if quick else 500)
    results["stubbed_overhead_as_deployed"] = stubbed_overhead_as_deployed(20 if quick else 500)
    results["requests_per_op_and_wru_per_op"] = requests_and_write_units()
    results["contention"] = contention(1.0 if quick else 10.0)
    results["sweep_reads"] = sweep_reads([1_000] if quick else [1_000, 10_000, 100_000])
    results["layer_bytes"] = layer_bytes()
    results["local_runtime"] = local_runtime_curve(100 if quick else 3000, 50 if quick else 500)
    results["usd_per_million_payments"] = usd_per_million_payments(
        results["handler_overhead"]["handler_median_ms"], results["requests_per_op_and_wru_per_op"]
    )
    return results


Row = tuple[str, str, str]


def print_table(results: dict[str, Any]) -> None:
    rows = [*_headline_rows(results), *_detail_rows(results)]
    width = max(len(row[0]) for row in rows)
    mode = ", quick" if results["quick"] else ""
    print(f"agent-sessions benchmarks ({results['date']}, {results['machine']}{mode})")
    for name, ratio, detail in rows:
        print(f"{name.ljust(width)}  {ratio:>7}  {detail}")


def _headline_rows(results: dict[str, Any]) -> list[Row]:
    overhead, cold, contended = results["handler_overhead"], results["cold_start"], results["contention"]
    stubbed = results["stubbed_overhead"]
    overhead_detail = f"{overhead['handler_median_ms']} ms vs raw {overhead['raw_median_ms']} ms (moto in-process)"
    stubbed_detail = f"{stubbed['handler_cpu_ms']} ms CPU vs bare {stubbed['bare_cpu_ms']} ms (DynamoDB stubbed)"
    deployed = results["stubbed_overhead_as_deployed"]
    deployed_detail = f"{deployed['handler_cpu_ms']} ms CPU vs bare {deployed['bare_cpu_ms']} ms (logs, metrics, X-Ray)"
    contention_detail = (
        f"{contended['payments_per_second']}/s vs the same transactions raw"
        f" {contended['raw_transactions_per_second']}/s,"
        f" overspend {contended['overspend_cents']}"
    )
    return [
        ("handler_overhead", f"{overhead['ratio']}x", overhead_detail),
        ("stubbed_overhead", f"{stubbed['ratio']}x", stubbed_detail),
        ("  as deployed", f"{deployed['ratio']}x", deployed_detail),
        ("cold_start (max)", f"{cold['ratio_max']}x", f"vs boto3 + client {cold['baseline_ms']} ms"),
        ("contention", f"{contended['ratio']}x", contention_detail),
        ("sweep_reads", "", ", ".join(f"{n}: {reads}" for n, reads in results["sweep_reads"].items())),
        ("layer_bytes", "", str(results["layer_bytes"]["zipped_bytes"])),
        ("usd_per_million_payments", "", f"${results['usd_per_million_payments']['usd']}"),
    ]  # fmt: skip


def _detail_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [
        (f"  {name}", "", f"{figures['requests']} requests, {figures['wru']} WRU")
        for name, figures in results["requests_per_op_and_wru_per_op"].items()
    ]
    rows += [
        (f"  local runtime after {p['payments']}", "", f"{p['median_ms']} ms/payment, RSS MB {p['runtime_rss_mb']}")
        for p in results["local_runtime"]["curve"]
    ]
    rows += [  # each timed handler's five largest imports (cumulative, so they overlap)
        (f"  imports of {name}", "", ", ".join(f"{module} {ms} ms" for module, ms in top.items()))
        for name, top in results["cold_start"]["largest_imports_ms"].items()
    ]
    return rows


if __name__ == "__main__":
    sys.exit(main())
