"""`agent keys` and `intents` in a subprocess against the local runtime, with ZendFi's CLI conventions:
its environment variables, a base URL ending in /api/v1, y/N before a revoke on a terminal, and a
required flag asked for on a terminal but a usage error (exit 2) off one."""

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalService
from tests.e2e.test_cli_over_http import Cli

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli(local_service: LocalService, tmp_path: Path) -> Cli:
    return Cli(local_service, tmp_path / "config")


def on_a_terminal(cli: Cli, arguments: list[str], typed: str) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its stdin and stdout; `typed` is what the user types."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "agent_sessions_cli", *arguments],
        stdin=follower, stdout=follower, stderr=follower, env=cli.environment, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    os.write(leader, typed.encode())
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=60), output.decode("utf-8", "replace")


def test_agent_keys_create_list_revoke(cli: Cli) -> None:
    created = cli.json(
        "agent", "keys", "create", "--name", "bot key", "--agent-id", "shopping-bot",
        "--scope", "read_only", "--scope", "create_payments", "--rate-limit", "50",
    )  # fmt: skip
    assert created["full_key"].startswith("zai_test_")
    assert created["scopes"] == ["read_only", "create_payments"]
    human = cli("agent", "keys", "list")
    assert human.returncode == 0
    assert created["id"] in human.stdout
    assert created["full_key"] not in human.stdout
    # the agent key works as a credential with its scopes, and off a terminal revoke asks nothing
    as_agent = cli("agent", "sessions", "list", "--api-key", created["full_key"], "--json")
    assert as_agent.returncode == 0, as_agent.stderr
    revoked = cli("agent", "keys", "revoke", created["id"])
    assert revoked.returncode == 0
    assert "revoked" in revoked.stdout.lower()
    refused = cli("agent", "sessions", "list", "--api-key", created["full_key"])
    assert refused.returncode == 1
    assert "UNAUTHENTICATED" in refused.stderr + refused.stdout


def test_revoke_asks_on_a_terminal_and_yes_skips_it(cli: Cli) -> None:
    key = cli.json("agent", "keys", "create", "--name", "k", "--agent-id", "a")
    code, output = on_a_terminal(cli, ["agent", "keys", "revoke", key["id"]], "n\n")
    assert code == 1
    assert "[y/N]" in output
    assert "nothing was revoked" in output
    assert next(k for k in cli.json("agent", "keys", "list")["keys"] if k["id"] == key["id"])["is_active"]
    code, output = on_a_terminal(cli, ["agent", "keys", "revoke", key["id"], "--yes"], "")
    assert code == 0
    assert "[y/N]" not in output
    assert not next(k for k in cli.json("agent", "keys", "list")["keys"] if k["id"] == key["id"])["is_active"]


def test_a_missing_required_flag_is_asked_for_on_a_terminal_and_exit_2_off_one(cli: Cli) -> None:
    off = cli("agent", "keys", "create", "--agent-id", "a")
    assert off.returncode == 2
    assert "--name" in off.stderr
    code, output = on_a_terminal(cli, ["agent", "keys", "create", "--agent-id", "a"], "asked key\n")
    assert code == 0, output
    assert "name:" in output
    assert "zai_test_" in output
    assert any(k["name"] == "asked key" for k in cli.json("agent", "keys", "list")["keys"])


def test_zendfis_environment_and_a_base_url_ending_in_api_v1(cli: Cli, local_service: LocalService) -> None:
    zendfi = {
        "AGENT_SESSIONS_API_URL": "",
        "AGENT_SESSIONS_API_KEY": "",
        "ZENDFI_API_URL": f"{local_service.base_url}/api/v1/",
        "ZENDFI_API_KEY": local_service.api_keys[0],
    }
    listed = cli("agent", "keys", "list", "--json", env=zendfi)
    assert listed.returncode == 0, listed.stderr
    flagged = cli("agent", "keys", "list", "--url", f"{local_service.base_url}/api/v1", "--json")
    assert flagged.returncode == 0, flagged.stderr


def test_intents_create_confirm_capture_cancel_list(cli: Cli) -> None:
    session = cli.json("agent", "sessions", "create", "--agent-id", "bot", "--wallet", "w", "--max-per-day", "100")
    token = session["session_token"]
    manual = cli.json("intents", "create", "--amount", "30.25", "--capture", "manual", "--description", "hold")
    assert (manual["status"], manual["amount"]) == ("requires_payment", 30.25)
    held = cli.json("intents", "confirm", manual["id"], "--client-secret", manual["client_secret"],
                    "--wallet", "Hx7B...abc", "--token", token)  # fmt: skip
    assert held["status"] == "processing"
    captured = cli.json("intents", "capture", manual["id"], "--amount", "20.10")
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", 20.10)
    spent = cli.json("agent", "sessions", "get", session["id"])["windows"]["day"]
    assert (spent["spent"], spent["held"]) == (20.10, 0)
    other = cli.json("intents", "create", "--amount", "5")
    canceled = cli.json("intents", "cancel", other["id"])
    assert canceled["status"] == "canceled"
    human = cli("intents", "list", "--status", "succeeded")
    assert human.returncode == 0
    assert manual["id"] in human.stdout
    assert other["id"] not in human.stdout
    again = cli("intents", "confirm", other["id"], "--client-secret", other["client_secret"], "--wallet", "w",
                "--token", token)  # fmt: skip
    assert again.returncode == 1
    assert "INVALID_STATE" in again.stderr + again.stdout
