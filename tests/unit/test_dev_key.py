"""The local runtime's own API key is the same across restarts, and private to its user."""

import stat
from pathlib import Path

from agent_sessions.domain.credentials import parse_bearer
from agent_sessions_local.dev_key import stable_dev_key


def test_the_dev_key_is_made_once_kept_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / ".agent-sessions" / "dev-api-key"
    first = stable_dev_key(path)
    presented = parse_bearer(f"Bearer {first}")
    assert presented is not None
    assert presented.kind == "api_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stable_dev_key(path) == first  # a restart: the same key
    path.write_text("not a key\n")
    replaced = stable_dev_key(path)  # a damaged file: a new key rather than a failure
    assert replaced != first
    assert stable_dev_key(path) == replaced


def test_the_dev_key_file_is_ignored_by_git() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().splitlines()
    assert ".agent-sessions/" in ignored
