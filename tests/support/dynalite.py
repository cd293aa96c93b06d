"""dynalite (npm, pinned by tools/dynalite/package-lock.json): a second, independent DynamoDB.

Behaviour that only moto tolerates shows up against it. It has no transactions, streams or TTL,
so only the paths that use none of them run here.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent_sessions_local.template import PROJECT_ROOT
from tests.support.npm_tools import ensure_installed, node_and_npm

DYNALITE_DIR = PROJECT_ROOT / "tools" / "dynalite"


@dataclass
class Dynalite:
    process: subprocess.Popen[str]
    endpoint_url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_dynalite() -> Dynalite:
    """Install from the lockfile if needed (npm ci), then serve on a free port on 127.0.0.1."""
    node, npm = node_and_npm("the dynalite tests")
    ensure_installed(DYNALITE_DIR, "dynalite", npm)
    process = subprocess.Popen(  # noqa: S603 - our own script
        [node, str(Path(DYNALITE_DIR) / "serve.js"), "0"], cwd=DYNALITE_DIR, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise RuntimeError(f"dynalite did not start: {line!r}")
    return Dynalite(process=process, endpoint_url=f"http://127.0.0.1:{int(line.split()[1])}")
