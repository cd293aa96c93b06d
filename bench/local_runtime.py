"""Benchmark 7: the local runtime under sequential payments (memory and latency over time).

`agent-sessions local` runs as `make run` starts it (an embedded moto in its own process, the
functions' instances, the stream pump and the webhook workers). Payments are sent one after
another over HTTP; for each block, the median latency and the resident memory (VmRSS) of the
runtime and of every process under it, the embedded DynamoDB included. Flat means bounded.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import ROOT

BENCH_KEY = "zfi_test_" + "benchLocalRuntime" + "b" * 30


def local_runtime_curve(payments: int, block: int) -> dict[str, Any]:
    """Median latency (ms) and resident memory (MB) per block of `block` sequential payments."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "TABLE_NAME"))}
    env.update({"AGENT_SESSIONS_DEV_API_KEY": BENCH_KEY, "PORT": str(port)})
    runtime = subprocess.Popen(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).with_name("agent-sessions")), "local", "--port", str(port)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(runtime)
        session = _call(base, "/api/v1/ai/sessions", BENCH_KEY, {
            "agent_id": "bench", "user_wallet": "w", "duration_hours": 24,
            "limits": {"max_per_transaction": 1, "max_per_day": 1_000_000, "max_per_week": 1_000_000,
                       "max_per_month": 1_000_000, "require_approval_above": 1},
        })  # fmt: skip
        curve = []
        for start in range(0, payments, block):
            latencies = []
            for _ in range(block):
                started = time.perf_counter()
                _call(base, "/api/v1/payments", session["session_token"], {"amount": 0.01})
                latencies.append(time.perf_counter() - started)
            curve.append({
                "payments": start + block,
                "median_ms": round(statistics.median(latencies) * 1000, 2),
                "runtime_rss_mb": _tree_rss_mb(runtime.pid, include_root=True),
            })  # fmt: skip
    finally:
        runtime.terminate()
        runtime.wait(timeout=30)
    return {"block": block, "curve": curve}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(runtime: subprocess.Popen[str]) -> None:
    """Read its output until it serves, then keep reading it in the background (a full pipe would block it)."""
    assert runtime.stdout is not None
    output = runtime.stdout
    deadline = time.monotonic() + 180
    for line in output:
        if "listening on" in line or time.monotonic() > deadline:
            threading.Thread(target=lambda: [None for _ in output], daemon=True).start()
            return
    raise RuntimeError("the local runtime stopped before serving")


def _call(base: str, path: str, credential: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        return dict(json.loads(answer.read()))


def _children(pid: int) -> list[int]:
    """Child PIDs of every thread of `pid`; a thread or process that ends while we read is skipped."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _tree_rss_mb(pid: int, include_root: bool) -> dict[str, float]:
    """VmRSS of a process and, by command, of every process under it (MB)."""
    sizes: dict[str, float] = {}
    pending = [pid] if include_root else _children(pid)
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            command = Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except FileNotFoundError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        name = "embedded_dynamodb" if "embedded_dynamodb" in command else ("runtime" if current == pid else "instances")
        sizes[name] = round(sizes.get(name, 0.0) + rss / 1024, 1)
        pending += _children(current)
    return sizes
