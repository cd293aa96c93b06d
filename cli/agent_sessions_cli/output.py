"""Human output for the CLI: dollars, times relative to now, aligned tables, a spinner."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO


def dollars(amount: Any) -> str:
    """`$1,234.50`; `-` for nothing."""
    if amount is None:
        return "-"
    return f"${Decimal(str(amount)):,.2f}"


def relative(timestamp: str | None, now: datetime | None = None) -> str:
    """`in 23 h`, `in 5 min`, `2 d ago` for an ISO-8601 `…Z` time; `-` for none."""
    if not timestamp:
        return "-"
    moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((moment - (now or datetime.now(UTC))).total_seconds())
    if seconds == 0:
        return "now"
    text = _duration(abs(seconds))
    return f"in {text}" if seconds >= 0 else f"{text} ago"


# (below this many seconds, shown in units of this many seconds, named)
_UNITS = ((60, 1, "s"), (3600, 60, "min"), (2 * 86400, 3600, "h"))


def _duration(size: int) -> str:
    for below, unit, name in _UNITS:
        if size < below:
            return f"{size // unit} {name}"
    return f"{size // 86400} d"


def shown(value: Any) -> str:
    """`value` as text safe to print to a terminal: each character Unicode does not call printable
    (controls such as ESC and newlines, bidirectional overrides, zero-width and line separators)
    written as its escape (`\\x1b`, `\\u202e`), as repr() writes it.

    Agent ids, wallets, merchant ids and descriptions are any non-blank text a platform or an agent
    sent; printed raw, an ESC in one would drive the terminal, a newline forge an output line.
    """
    text = str(value)
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else _escaped(character) for character in text)


def _escaped(character: str) -> str:
    return character.encode("unicode_escape").decode("ascii")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None) -> None:
    """Columns padded to their widest cell; amounts (cells starting with `$`) aligned right. Every
    cell is shown() first, so no value can break a row or drive the terminal."""
    shown_rows = [[shown(cell) for cell in row] for row in rows]
    _print_aligned([shown(cell) for cell in headers], shown_rows, out or sys.stdout)


def _print_aligned(headers: list[str], rows: list[list[str]], stream: TextIO) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    right = [all(row[i].startswith("$") for row in rows) and bool(rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(padded).rstrip()

    print(line(headers), file=stream)
    for row in rows:
        print(line(row), file=stream)


def fields(pairs: Sequence[tuple[str, Any]], out: TextIO | None = None) -> None:
    """`name:  value` lines, names padded to align the values (each value shown())."""
    stream = out or sys.stdout
    width = max(len(name) for name, _ in pairs) + 1
    for name, value in pairs:
        print(f"{(name + ':').ljust(width)}  {'-' if value is None else shown(value)}", file=stream)


@contextmanager
def spinner(label: str, after_seconds: float = 1.0, out: TextIO | None = None) -> Iterator[None]:
    """A spinner on stderr while a call runs longer than `after_seconds` (only on a terminal)."""
    stream = out or sys.stderr
    if not stream.isatty():
        yield
        return
    done = threading.Event()

    def spin() -> None:
        if done.wait(after_seconds):
            return
        for frame in itertools.cycle("|/-\\"):
            stream.write(f"\r{frame} {label}")
            stream.flush()
            if done.wait(0.1):
                break
        stream.write("\r" + " " * (len(label) + 2) + "\r")
        stream.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=1)
