"""The local runtime's own API key: the same across restarts, kept in a file under the project.

Without AGENT_SESSIONS_DEV_API_KEY, `make run` uses the key in `.agent-sessions/dev-api-key`
(gitignored, mode 600), making one the first time; its account derives from the key, so the same
key always reaches the same data when the data is kept (`--dynamodb-endpoint` to a kept table).
"""

from __future__ import annotations

import os
from pathlib import Path

from agent_sessions_local.template import PROJECT_ROOT

DEV_KEY_PATH = PROJECT_ROOT / ".agent-sessions" / "dev-api-key"


def stable_dev_key(path: Path = DEV_KEY_PATH) -> str:
    """The key kept at `path`, or a new one written there (readable by this user only)."""
    from agent_sessions.domain.credentials import new_api_key, parse_bearer

    if path.exists():
        kept = path.read_text().strip()
        presented = parse_bearer(f"Bearer {kept}")
        if presented is not None and presented.kind == "api_key":
            return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_api_key("test")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as kept_file:
        kept_file.write(key + "\n")
    return key
