"""dynalite (npm, pinned by tools/dynalite/package-lock.json): a second, independent DynamoDB.

Behaviour that only moto tolerates shows up against it. It has no transactions, streams or TTL,
so only the paths that use none of them run here.
"""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agent_sessions_local.template import PROJECT_ROOT

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
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("node and npm are needed for the dynalite tests (Node 20 is on these machines)")
    if not (DYNALITE_DIR / "node_modules" / "dynalite").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=DYNALITE_DIR, check=True, timeout=300)  # noqa: S603
    process = subprocess.Popen(  # noqa: S603 - our own script
        [node, str(Path(DYNALITE_DIR) / "serve.js"), "0"], cwd=DYNALITE_DIR, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise RuntimeError(f"dynalite did not start: {line!r}")
    return Dynalite(process=process, endpoint_url=f"http://127.0.0.1:{int(line.split()[1])}")
