from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.money import cents_to_dollars, dollars_to_cents


@pytest.mark.parametrize(
    ("wire", "cents"),
    [
        (50, 5000),
        (Decimal("29.99"), 2999),
        (Decimal("0.01"), 1),
        (Decimal("50.10"), 5010),
        (1_000_000_000, 100_000_000_000),
    ],
)
def test_wire_amounts_become_exact_cents(wire: object, cents: int) -> None:
    assert dollars_to_cents(wire) == cents


@pytest.mark.parametrize(
    ("wire", "complaint"),
    [
        (0, "greater than 0"),
        (-5, "greater than 0"),
        (Decimal("1.234"), "2 decimal places"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        ("50", "not a string"),
        (True, "not a string"),
        (50.0, "not a string"),
        (1_000_000_001, "at most 1000000000"),
        (Decimal("1E+400"), "at most 1000000000"),
        (Decimal("1E-400"), "2 decimal places"),
    ],
)
def test_invalid_wire_amounts_are_refused_with_a_reason(wire: object, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        dollars_to_cents(wire)


def test_ten_cents_three_times_is_exactly_thirty_cents() -> None:
    total = sum(dollars_to_cents(Decimal("0.1")) for _ in range(3))
    assert total == 30
    assert str(cents_to_dollars(total)) == "0.30"


@pytest.mark.parametrize(("cents", "text"), [(20000, "200"), (2999, "29.99"), (5, "0.05"), (0, "0"), (15010, "150.10")])
def test_cents_print_as_exact_dollars(cents: int, text: str) -> None:
    assert str(cents_to_dollars(cents)) == text


@given(st.integers(min_value=1, max_value=100_000_000_000))
def test_cents_round_trip_through_dollars(cents: int) -> None:
    assert dollars_to_cents(cents_to_dollars(cents)) == cents
