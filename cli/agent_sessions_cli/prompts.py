"""Asking on a terminal: required flags left out, and y/N before something that cannot be undone.

Off a terminal (a script, a pipe) nothing is asked: a required flag left out is a usage error
(exit 2), and a confirmation counts as given, as ZendFi's CLI does.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_required(parser: argparse.ArgumentParser, *flags: str, **options: Any) -> argparse.Action:
    """A flag the command needs: asked for on a terminal when left out, else a usage error."""
    action = parser.add_argument(*flags, **options)
    action.help = f"{action.help + '; ' if action.help else ''}required (asked for on a terminal)"
    parser.set_defaults(required_flags=[*(parser.get_default("required_flags") or []), action])
    return action


def fill_required(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Each required flag left out, asked for on a terminal; off one, exit 2 naming it."""
    for action in getattr(args, "required_flags", None) or []:
        if getattr(args, action.dest) is not None:
            continue
        flag = action.option_strings[0]
        if not sys.stdin.isatty():
            parser.error(f"the following arguments are required: {flag}")
        raw = input(f"{flag.removeprefix('--')}: ").strip()
        if not raw:
            parser.error(f"{flag} is required")
        try:
            setattr(args, action.dest, action.type(raw) if callable(action.type) else raw)
        except (argparse.ArgumentTypeError, ValueError) as bad:
            parser.error(f"argument {flag}: {bad}")


def confirmed(question: str, args: argparse.Namespace) -> bool:
    """y/N on a terminal (default no); `--yes`, or no terminal, counts as yes."""
    if getattr(args, "yes", False) or not sys.stdin.isatty():
        return True
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
