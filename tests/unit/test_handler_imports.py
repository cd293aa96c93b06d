"""A handler's import stays cheap: the X-Ray SDK is not loaded until a handler is invoked.

Making Powertools' Tracer imports the X-Ray SDK, whose sampling client builds a botocore session:
the largest single cost of a cold start (infra/observability.DeferredTracer makes it on the first
traced call). Each handler is imported in one fresh interpreter, one after another; the X-Ray SDK
must be absent after every import, and present once a handler has been invoked.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.util, json, sys
from pathlib import Path
loaded = {}
for app in sorted(Path("functions").glob("*/app.py")):
    spec = importlib.util.spec_from_file_location(f"app_{app.parent.name}", app)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded[app.parent.name] = sorted(name for name in sys.modules if name.split(".")[0] == "aws_xray_sdk")
from agent_sessions.infra.observability import tracer
traced = tracer.capture_lambda_handler(lambda event, context: "ok", capture_response=False)
answer = traced({}, None)
print(json.dumps({"loaded": loaded, "after_a_call": "aws_xray_sdk.core" in sys.modules, "answer": answer}))
"""


def test_no_handler_imports_the_xray_sdk_until_it_is_invoked() -> None:
    env = {
        **os.environ,
        "TABLE_NAME": "t",
        "EVENT_BUS_NAME": "b",
        "WEBHOOK_KEY_ID": "k",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "false",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["loaded"]) == len(list((ROOT / "functions").glob("*/app.py")))
    assert {name: modules for name, modules in report["loaded"].items() if modules} == {}
    assert report["after_a_call"] is True  # the tracer is real: made on the first traced call
    assert report["answer"] == "ok"
