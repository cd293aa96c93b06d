"""Ending a child process that reads its stdin until it closes (the embedded DynamoDB, test drivers)."""

from __future__ import annotations

import subprocess


def end_by_closing_stdin(process: subprocess.Popen[str], seconds: float = 5) -> None:
    """Close the child's stdin, which ends it; one still running after `seconds` is killed by its PID. Reaped."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)
