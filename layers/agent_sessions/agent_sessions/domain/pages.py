"""One page of a listing, whatever it lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    """Items newest first, and the opaque cursor of the next page (None on the last one)."""

    items: list[Item]
    next_cursor: str | None
