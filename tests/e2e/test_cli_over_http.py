"""`agent-sessions` driven in a subprocess against the local runtime over HTTP: output and exit codes."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import LocalService

pytestmark = pytest.mark.e2e


class Cli:
    """Runs `python -m agent_sessions_cli …` with its own config directory and environment."""

    def __init__(self, service: LocalService, config_home: Path) -> None:
        self.environment = {
            **os.environ,
            "XDG_CONFIG_HOME": str(config_home),
            "AGENT_SESSIONS_API_URL": service.base_url,
            "AGENT_SESSIONS_API_KEY": service.api_keys[0],
        }
        self.environment.pop("AGENT_SESSIONS_SESSION_TOKEN", None)

    def __call__(self, *arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "agent_sessions_cli", *arguments],
            capture_output=True,
            text=True,
            env={**self.environment, **(env or {})},
            timeout=60,
            check=False,
        )

    def json(self, *arguments: str) -> Any:
        done = self(*arguments, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def latest(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30) -> Any:
    """What `read` answers once `done` says so, or its last answer when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture
def cli(local_service: LocalService, tmp_path: Path) -> Cli:
    return Cli(local_service, tmp_path / "config")


def test_sessions_and_payments_through_every_command(cli: Cli, local_service: LocalService) -> None:
    created = cli(
        "agent", "sessions", "create", "--agent-id", "shopping-bot", "--wallet", "Hx7B...abc",
        "--max-per-day", "200", "--duration", "24", "--max-per-transaction", "50",
        "--require-approval-above", "40", "--allowed-merchant", "merchant_amazon",
        "--allowed-merchant", "merchant_walmart", "--agent-name", "Shopping Bot", "--metadata", '{"team": "checkout"}',
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    token = lines[-1]
    session_id = next(line.split()[1] for line in lines if line.startswith("Session:"))
    assert token.startswith("zai_session_")
    assert "Expires:          in 23 h" in created.stdout
    assert "Merchants:        merchant_amazon, merchant_walmart" in created.stdout
    assert "day        $200.00  $0.00  $0.00     $200.00  in 23 h" in created.stdout

    listed = cli("agent", "sessions", "list", "--status", "active", "--agent-id", "shopping-bot")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].split() == ["ID", "AGENT", "WALLET", "STATUS", "LEFT", "TODAY", "EXPIRES"]
    assert session_id in listed.stdout
    assert cli.json("agent", "sessions", "list", "--wallet", "Hx7B...abc")["sessions"][0]["id"] == session_id

    paid = cli("payments", "create", "--token", token, "--amount", "19.99", "--merchant", "merchant_amazon",
               "--description", "cable", "--idempotency-key", "order-1")  # fmt: skip
    assert paid.returncode == 0, paid.stderr
    assert "Status:           authorized" in paid.stdout
    assert "Left today:       $180.01" in paid.stdout
    payment_id = paid.stdout.split()[1]
    again = cli.json("payments", "create", "--token", token, "--amount", "19.99", "--merchant", "merchant_amazon",
                     "--description", "cable", "--idempotency-key", "order-1")  # fmt: skip
    assert again["id"] == payment_id
    assert again["amount"] == 19.99

    with_env_token = cli("payments", "create", "--amount", "45", "--merchant", "merchant_amazon", "--json",
                         env={"AGENT_SESSIONS_SESSION_TOKEN": token})  # fmt: skip
    assert with_env_token.returncode == 0
    held = json.loads(with_env_token.stdout)
    assert held["status"] == "pending_approval"
    approved = cli("payments", "approve", held["id"])
    assert approved.returncode == 0
    assert "Status:           authorized" in approved.stdout
    rejected_one = cli.json("payments", "create", "--token", token, "--amount", "41", "--merchant", "merchant_walmart")
    rejected = cli("payments", "reject", rejected_one["id"])
    assert rejected.returncode == 0
    assert "Status:           rejected" in rejected.stdout

    read = cli("payments", "get", payment_id)
    assert read.returncode == 0
    assert "Amount:           $19.99 USD" in read.stdout
    assert cli.json("payments", "get", payment_id, "--token", token)["id"] == payment_id
    history = cli("agent", "sessions", "payments", session_id)
    assert history.returncode == 0
    assert [line.split()[0] for line in history.stdout.splitlines()[1:]] == [rejected_one["id"], held["id"], payment_id]

    shown = cli("agent", "sessions", "get", session_id)
    assert "day        $200.00  $64.99  $0.00     $135.01" in shown.stdout
    assert cli.json("agent", "sessions", "get", session_id, "--token", token)["remaining_today"] == 135.01

    over = cli("payments", "create", "--token", token, "--amount", "60", "--merchant", "merchant_amazon")
    assert over.returncode == 1
    assert "error: LIMIT_EXCEEDED:" in over.stderr
    assert "limit: max_per_transaction" in over.stderr
    as_json = cli("payments", "create", "--token", token, "--amount", "60", "--merchant", "merchant_amazon", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]["code"] == "LIMIT_EXCEEDED"

    unsigned = cli("agent", "sessions", "verify", session_id)
    assert unsigned.returncode == 1
    assert "error: NO_IDENTITY:" in unsigned.stderr  # a session without mint_pkp has nothing signed to verify
    minted = cli.json("agent", "sessions", "create", "--agent-id", "a", "--wallet", "w", "--mint-pkp")
    verified = cli("agent", "sessions", "verify", minted["id"])
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"Verified: {minted['pkp_address']} signed this session's parameters.")
    assert cli.json("agent", "sessions", "verify", minted["id"], "--token", minted["session_token"])["verified"] is True

    revoked = cli("agent", "sessions", "revoke", session_id)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, f"Revoked {session_id} (status revoked).")
    after = cli("payments", "create", "--token", token, "--amount", "1", "--merchant", "merchant_amazon")
    assert after.returncode == 1
    assert "error: SESSION_REVOKED:" in after.stderr

    foreign = cli("agent", "sessions", "get", session_id, "--api-key", local_service.api_keys[1])
    assert foreign.returncode == 1
    assert "error: NOT_FOUND:" in foreign.stderr


def test_exit_codes_usage_and_help(cli: Cli) -> None:
    every_level = [
        [], ["agent"], ["agent", "sessions"], ["agent", "sessions", "create"], ["agent", "sessions", "list"],
        ["agent", "sessions", "get"], ["agent", "sessions", "revoke"], ["agent", "sessions", "payments"],
        ["agent", "sessions", "verify"],
        ["payments"], ["payments", "create"], ["payments", "get"], ["payments", "approve"], ["payments", "reject"],
        ["webhooks"], ["webhooks", "add"], ["webhooks", "list"], ["webhooks", "remove"],
        ["keys"], ["keys", "create"], ["login"], ["local"],
    ]  # fmt: skip
    for command in every_level:
        helped = cli(*command, "--help")
        assert helped.returncode == 0, command
        assert helped.stdout.startswith("usage: agent-sessions")
    assert cli().returncode == 2
    assert cli("agent", "sessions", "create", "--wallet", "w").returncode == 2  # --agent-id missing
    assert cli("payments", "create", "--amount", "ten").returncode == 2
    assert cli("agent", "sessions", "bogus").returncode == 2
    invalid = cli("agent", "sessions", "create", "--agent-id", "a", "--wallet", "w", "--duration", "500")
    assert invalid.returncode == 1
    assert "error: VALIDATION_ERROR:" in invalid.stderr
    assert "duration_hours:" in invalid.stderr
    no_token = cli("payments", "create", "--amount", "1")
    assert no_token.returncode == 1
    assert "no session token" in no_token.stderr
    unreachable = cli("agent", "sessions", "list", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "error: UNREACHABLE:" in unreachable.stderr


def test_login_saves_the_url_and_key_for_later_commands(cli: Cli, local_service: LocalService, tmp_path: Path) -> None:
    bare = {"AGENT_SESSIONS_API_URL": "", "AGENT_SESSIONS_API_KEY": ""}
    refused = cli("login", "--url", local_service.base_url, "--api-key", "zfi_test_" + "n" * 40, env=bare)
    assert refused.returncode == 1
    assert "error: UNAUTHENTICATED:" in refused.stderr
    logged_in = cli("login", "--url", local_service.base_url, "--api-key", local_service.api_keys[1], env=bare)
    assert logged_in.returncode == 0, logged_in.stderr
    config = tmp_path / "config" / "agent-sessions" / "config.json"
    assert json.loads(config.read_text()) == {"api_url": local_service.base_url, "api_key": local_service.api_keys[1]}
    assert config.stat().st_mode & 0o777 == 0o600
    listed = cli("agent", "sessions", "list", "--json", env=bare)
    assert listed.returncode == 0
    assert "sessions" in json.loads(listed.stdout)


def test_velocity_flags_check_and_update(cli: Cli) -> None:
    created = cli.json(
        "agent", "sessions", "create", "--agent-id", "fast-bot", "--wallet", "w",
        "--per-minute", "2", "--per-hour", "30", "--max-payments-per-day", "40", "--max-per-day", "50",
    )  # fmt: skip
    assert created["rate_limits"] == {"payments": {"per_minute": 2, "per_hour": 30}}
    assert created["limits"]["max_payments_per_day"] == 40
    token, session_id = created["session_token"], created["id"]
    shown = cli("agent", "sessions", "get", session_id)
    assert "Max payments:     2/minute, 30/hour, 40/day" in shown.stdout

    checked = cli("payments", "check", "--token", token, "--amount", "12.34")
    assert checked.returncode == 0, checked.stderr
    assert "Would:                  authorize" in checked.stdout
    assert "Left today after:       $37.66" in checked.stdout
    for _ in range(2):
        assert cli("payments", "create", "--token", token, "--amount", "12.34").returncode == 0
    refused = cli("payments", "create", "--token", token, "--amount", "1")
    assert refused.returncode != 0
    assert "VELOCITY_LIMIT" in refused.stderr
    too_fast = cli.json("payments", "check", "--token", token, "--amount", "1")
    assert (too_fast["would"], too_fast["rule"]) == ("decline", "rate_limits.payments.per_minute")

    lowered = cli.json("agent", "sessions", "update", session_id, "--max-per-day", "20", "--per-minute", "5")
    assert lowered["version"] == 1
    assert lowered["remaining_today"] == 0  # 24.68 spent, 20 allowed: nothing left, nothing cancelled
    assert lowered["status"] == "paused"
    stale = cli("agent", "sessions", "update", session_id, "--max-per-day", "30", "--version", "0")
    assert stale.returncode != 0
    assert "PRECONDITION_FAILED" in stale.stderr
    raised = cli.json("agent", "sessions", "update", session_id, "--max-per-day", "30", "--version", "1")
    assert raised["remaining_today"] == 5.32


def test_the_decision_log_exports_and_verifies_offline_and_a_tampered_file_fails(cli: Cli, tmp_path: Path) -> None:
    created = cli.json(
        "agent", "sessions", "create", "--agent-id", "audited", "--wallet", "w", "--max-per-day", "50",
        "--require-approval-above", "20",
    )  # fmt: skip
    token, session_id = created["session_token"], created["id"]
    for amount in ("12.34", "25", "99"):  # authorized, held, declined
        cli("payments", "create", "--token", token, "--amount", amount)
    cli("agent", "sessions", "revoke", session_id)
    wanted = {"payment_authorized", "payment_held", "payment_declined", "payment_lapsed", "revoked"}
    lines = latest(  # the outbox appends within a second or two
        lambda: cli.json("agent", "sessions", "audit", "export", session_id),
        lambda found: wanted <= {line["kind"] for line in found},
    )
    kinds = [line["kind"] for line in lines]
    assert kinds[:2] == ["attestation", "session_created"]
    assert wanted <= set(kinds)

    exported = cli("agent", "sessions", "audit", "export", session_id)
    log = tmp_path / "log.jsonl"
    log.write_text(exported.stdout)
    verified = cli("agent", "sessions", "audit", "verify", session_id, "--file", str(log))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "entries: verified." in verified.stdout
    online = cli("agent", "sessions", "audit", "verify", session_id)
    assert online.returncode == 0, online.stdout

    entries = [json.loads(line) for line in log.read_text().splitlines()]
    authorized = next(entry for entry in entries if entry["kind"] == "payment_authorized")
    authorized["amount"] = 1
    log.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    broken = cli("agent", "sessions", "audit", "verify", session_id, "--file", str(log))
    assert broken.returncode == 1
    assert "BROKEN  chain" in broken.stdout


def test_agent_analytics_counts_what_the_outbox_tallied(cli: Cli) -> None:
    created = cli.json("agent", "sessions", "create", "--agent-id", "counted-bot", "--wallet", "w")
    for amount in ("3.10", "4.25"):
        assert cli("payments", "create", "--token", created["session_token"], "--amount", amount).returncode == 0
    counted = latest(  # the outbox tallies within a second or two
        lambda: cli.json("agent", "analytics", "--agent-id", "counted-bot"),
        lambda found: found["total_payments"] == 2,
    )
    assert (counted["total_payments"], counted["total_volume_usd"]) == (2, 7.35)
    assert counted["active_sessions"] == 1
    shown = cli("agent", "analytics", "--agent-id", "counted-bot")
    assert "Payments:" in shown.stdout
    assert "$7.35" in shown.stdout


def test_payments_list_shows_the_accounts_payments_across_sessions(cli: Cli) -> None:
    tokens = [
        cli.json("agent", "sessions", "create", "--agent-id", agent, "--wallet", "w")["session_token"]
        for agent in ("list-bot-a", "list-bot-b")
    ]
    for token, amount in zip(tokens, ("1.11", "2.22"), strict=True):
        assert cli("payments", "create", "--token", token, "--amount", amount).returncode == 0
    listed = cli.json("payments", "list", "--agent-id", "list-bot-b")
    assert [(p["agent_id"], p["amount"]) for p in listed["payments"]] == [("list-bot-b", 2.22)]
    shown = cli("payments", "list", "--limit", "5")
    assert shown.returncode == 0
    assert "$2.22" in shown.stdout
    assert "$1.11" in shown.stdout


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    agent_id=st.text(
        st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF, categories=["L", "N", "S"]), min_size=1, max_size=12
    )
)
def test_names_an_ascii_terminal_cannot_show_print_escaped_and_the_command_completes(
    local_service: LocalService, tmp_path_factory: pytest.TempPathFactory, agent_id: str
) -> None:
    cli = Cli(local_service, tmp_path_factory.mktemp("config"))
    created = cli.json("agent", "sessions", "create", "--agent-id", agent_id, "--wallet", "w")
    ascii_only = {"PYTHONIOENCODING": "ascii"}
    shown = cli("agent", "sessions", "get", created["id"], env=ascii_only)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert agent_id.encode("ascii", "backslashreplace").decode() in shown.stdout
    assert "WINDOW" in shown.stdout  # the whole answer, not cut at the name
