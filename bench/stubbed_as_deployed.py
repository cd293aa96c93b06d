"""The stubbed overhead with observability switched on as template.yaml deploys it.

The other benchmarks run as the local runtime does: Powertools' tracing and metrics off, logs at
ERROR. This fresh interpreter runs the same measurement (`timing.stubbed_overhead`) set up as a
deployed function is: logs at INFO, metrics flushed on every invocation, tracing on under a Lambda
trace header, with botocore patched so every DynamoDB call is a subsegment. The X-Ray daemon is a
UDP socket of ours, read only at the end to show segments did arrive (DynamoDB is stubbed as
before). The log and metric lines go to a file, as a function's go to its log pipe, and are counted.

Usage: `python bench/stubbed_as_deployed.py SAMPLES RESULT_PATH` (timing.stubbed_overhead_as_deployed
runs it and reads the JSON it writes).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import common  # first: the benchmarks' environment, amended below before the layer loads


def deployed_environment(daemon_port: int) -> dict[str, str]:
    """What a deployed function's environment says about logs, metrics and tracing."""
    return {
        "POWERTOOLS_LOG_LEVEL": "INFO",  # template.yaml's Globals
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_LAMBDA_FUNCTION_NAME": "CreatePaymentFunction",  # with LAMBDA_TASK_ROOT: X-Ray's Lambda mode
        "LAMBDA_TASK_ROOT": str(common.ROOT / "functions" / "create_payment"),
        "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
    }


def main(samples: int, result_path: Path) -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))  # segments wait here (the oldest kept, the rest dropped when full)
    os.environ.update(deployed_environment(daemon.getsockname()[1]))
    from timing import stubbed_overhead

    with tempfile.TemporaryFile("w+") as log_pipe:
        saved = os.dup(1)
        os.dup2(log_pipe.fileno(), 1)
        try:
            figures = stubbed_overhead(samples)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        log_pipe.seek(0)
        lines = log_pipe.read().splitlines()
    daemon.setblocking(False)
    segment = json.loads(daemon.recv(65536).decode().split("\n", 1)[1])  # after X-Ray's header line
    daemon.close()
    figures["log_lines"] = sum(1 for line in lines if '"level":"INFO"' in line)
    figures["metric_lines"] = sum(1 for line in lines if line.startswith('{"_aws"'))
    figures["traced"] = segment.get("trace_id", "").startswith("1-6745a1b2")
    result_path.write_text(json.dumps(figures))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
