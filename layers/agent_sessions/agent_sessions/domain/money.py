"""Money: integer cents inside, exact Decimal dollars at the edges. No float ever touches an amount."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENTS_PER_DOLLAR = 100
MAX_AMOUNT_DOLLARS = Decimal(1_000_000_000)
_ONE_CENT = Decimal("0.01")


def dollars_to_cents(raw: object) -> int:
    """Turn a wire amount (a JSON int or a Decimal parsed from a JSON number) into cents.

    Raises ValueError with a sentence for the caller when the amount is not a positive
    number of dollars with at most 2 decimals and at most 1,000,000,000.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise ValueError("must be a number of dollars, not a string or other type")
    amount = Decimal(raw)
    try:
        if not amount.is_finite():
            raise ValueError("must be a finite number")
        if amount <= 0:
            raise ValueError("must be greater than 0")
        if amount > MAX_AMOUNT_DOLLARS:
            raise ValueError("must be at most 1000000000")
        if amount != amount.quantize(_ONE_CENT):
            raise ValueError("must have at most 2 decimal places")
    except InvalidOperation as exc:  # quantize of an absurd exponent
        raise ValueError("must be a number with at most 2 decimal places") from exc
    return int(amount * CENTS_PER_DOLLAR)


def cents_to_dollars(cents: int) -> Decimal:
    """Turn cents into exact dollars: whole dollars print without decimals, others with two."""
    if cents % CENTS_PER_DOLLAR == 0:
        return Decimal(cents // CENTS_PER_DOLLAR)
    return Decimal(cents).scaleb(-2)
