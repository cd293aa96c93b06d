"""Node tools the tests drive (dynalite, the ZendFi SDK), each installed from its pinned lockfile once.

Two test workers may both need one at the same moment: the install runs under a file lock, so
the second waits for the first instead of running `npm ci` over a half-written node_modules.
"""

import fcntl
import shutil
import subprocess
from pathlib import Path


def node_and_npm(purpose: str) -> tuple[str, str]:
    """The paths of node and npm, or a clear error naming what needs them."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(f"node and npm are needed for {purpose} (Node 20 is on these machines)")
    return node, npm


def ensure_installed(directory: Path, package: str, npm: str) -> None:
    """`npm ci` in `directory` unless `package` is already in its node_modules (one worker at a time)."""
    with (directory / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "node_modules" / package).is_dir():
            install = [npm, "ci", "--no-audit", "--no-fund", "--silent", "--ignore-scripts"]
            subprocess.run(install, cwd=directory, check=True, timeout=600)  # noqa: S603 - pinned by the lockfile
