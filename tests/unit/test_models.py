from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent_sessions.domain.jsonio import BodyTooLarge, encode_json, parse_json_body
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest

VALID = {"agent_id": "bot", "user_wallet": "Hx7"}


def test_defaults_match_the_sdk() -> None:
    request = CreateSessionRequest.model_validate(VALID)
    assert request.duration_hours == 24
    assert request.limits is None
    assert request.mint_pkp is False


def test_limits_arrive_as_cents() -> None:
    request = CreateSessionRequest.model_validate({**VALID, "limits": {"max_per_day": Decimal("200.50")}})
    assert request.limits is not None
    assert request.limits.max_per_day == 20050


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VALID, "limits": {"max_per_day": 0}}, ("limits", "max_per_day")),
        ({**VALID, "limits": {"max_per_day": Decimal("1.001")}}, ("limits", "max_per_day")),
        ({**VALID, "duration_hours": 0}, ("duration_hours",)),
        ({**VALID, "duration_hours": 169}, ("duration_hours",)),
        ({**VALID, "duration_hours": Decimal("0.0001")}, ("duration_hours",)),
        ({**VALID, "duration_hours": "24"}, ("duration_hours",)),
        ({**VALID, "duration_hours": True}, ("duration_hours",)),
        ({"user_wallet": "w"}, ("agent_id",)),
        ({**VALID, "agent_id": "   "}, ("agent_id",)),
        ({**VALID, "surprise": 1}, ("surprise",)),
        ({**VALID, "metadata": {"a": "x" * 9000}}, ("metadata",)),
        ({**VALID, "allowed_merchants": ["m"] * 101}, ("allowed_merchants",)),
    ],
)
def test_invalid_create_bodies_name_the_field(body: dict[str, object], field: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        CreateSessionRequest.model_validate(body)
    assert tuple(caught.value.errors()[0]["loc"])[: len(field)] == field


def test_json_numbers_parse_to_decimal_and_print_exactly() -> None:
    parsed = parse_json_body('{"amount": 29.99, "n": 3}')
    assert parsed["amount"] == Decimal("29.99")
    assert encode_json(parsed) == '{"amount":29.99,"n":3}'


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_json_body(text)


def test_bodies_over_the_limit_are_refused_before_parsing() -> None:
    with pytest.raises(BodyTooLarge):
        parse_json_body('"' + "x" * (2 * 1024 * 1024) + '"')


def test_a_duration_may_be_a_fraction_of_an_hour() -> None:
    request = CreateSessionRequest.model_validate({**VALID, "duration_hours": Decimal("0.5")})
    assert request.duration_hours == Decimal("0.5")


@given(email=st.emails(), url=st.from_regex(r"https?://[!-~]{1,60}", fullmatch=True))
def test_the_sdks_receipt_email_and_return_url_are_accepted_and_change_nothing(email: str, url: str) -> None:
    assume(len(email) <= 254)
    request = CreatePaymentRequest.model_validate(
        {"amount": Decimal("1.99"), "customer_email": email, "redirect_url": url}
    )
    plain = CreatePaymentRequest.model_validate({"amount": Decimal("1.99")})
    assert (request.amount, request.merchant_id, request.metadata) == (plain.amount, plain.merchant_id, plain.metadata)


@given(recipients=st.lists(st.dictionaries(st.text(max_size=5), st.integers()), min_size=1, max_size=4))
def test_a_split_payment_is_refused_naming_the_field(recipients: list[dict[str, int]]) -> None:
    with pytest.raises(ValidationError) as refused:
        CreatePaymentRequest.model_validate({"amount": 5, "split_recipients": recipients})
    assert [error["loc"] for error in refused.value.errors()] == [("split_recipients",)]
