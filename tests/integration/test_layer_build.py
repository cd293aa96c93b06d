"""The layer as `sam build` makes it (layers/agent_sessions/Makefile) ships every module compiled.

Lambda's /opt is read-only and a zip does not keep timestamps a .pyc could be checked against, so
without unchecked-hash .pyc files each cold start would compile the package's modules again.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from agent_sessions_local.template import PROJECT_ROOT

UNCHECKED_HASH = 0b01  # PEP 552: hash-based, not checked against the source


def test_every_module_of_the_built_layer_is_compiled_ahead_and_never_checked_against_its_source(
    tmp_path: Path,
) -> None:
    make = shutil.which("make")
    assert make is not None
    subprocess.run(  # noqa: S603 - our own Makefile
        [make, "-s", "-C", str(PROJECT_ROOT / "layers" / "agent_sessions"), "build-SharedLayer",
         f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
        check=True,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    package = tmp_path / "python" / "agent_sessions"
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file(), f"{source.relative_to(tmp_path)} is not compiled"
        flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
        assert flags == UNCHECKED_HASH, f"{compiled.name}: flags {flags:#04b}"
