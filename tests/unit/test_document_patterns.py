"""Every pattern in openapi.json means the same to a client's regex engine (ECMA-262, run by Node) as to ours.

A client validates a request against the document before sending it (schemathesis did, and found
`\\s` letting U+0085 through where the server refused it). Drawn strings, shaped by each pattern
and then spoiled with characters the engines disagree about, are matched by Node's RegExp and by
pydantic, which validates every field and parameter with a pattern (with its Rust engine; Python's
`re` would differ again: its `$` also matches before a final newline).
"""

import json
import re
import subprocess
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from agent_sessions.wire.models import EMAIL_SHAPE_PATTERN, CreatePaymentRequest
from tests.support.npm_tools import node_and_npm

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.json"


def patterns_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            found.add(node["pattern"])
        for value in node.values():
            found |= patterns_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= patterns_in(value)
    return found


PATTERNS = sorted(patterns_in(json.loads(DOCUMENT.read_text())))
# Where engines differ: C0 and C1 controls, U+0085, the Unicode spaces, Unicode digits and letters.
DISPUTED = st.sampled_from(
    [chr(code) for code in (*range(0x00, 0x21), *range(0x7F, 0xA1))]
    + ["\u1680", "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "\u180e"]
    + ["\u0663", "\uff11", "\u00b9", "\u0131", "\u212a", "\u00e9", "_"]
)


def spoiled(pattern: str) -> st.SearchStrategy[str]:
    """A string the pattern matches, as drawn, or with a disputed character put somewhere in it."""
    shaped = st.from_regex(pattern, fullmatch=True)
    return st.one_of(
        shaped,
        st.tuples(shaped, DISPUTED, st.integers(min_value=0, max_value=300)).map(
            lambda parts: parts[0][: parts[2]] + parts[1] + parts[0][parts[2] :]
        ),
    )


cases = st.lists(st.sampled_from(PATTERNS).flatmap(lambda p: st.tuples(st.just(p), spoiled(p))), min_size=40)

ECMA_MATCHES = """
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map(([pattern, text]) => new RegExp(pattern, 'u').test(text))));
});
"""


def ecma_matches(batch: list[tuple[str, str]]) -> list[bool]:
    node, _ = node_and_npm("matching the document's patterns as a client does")
    done = subprocess.run(  # noqa: S603 - node, with our own script
        [node, "-e", ECMA_MATCHES], input=json.dumps(batch), capture_output=True, text=True, check=True, timeout=60
    )
    return [bool(matched) for matched in json.loads(done.stdout)]


def test_the_document_has_patterns_and_none_uses_a_shorthand_class() -> None:
    """`\\s`, `\\d`, `\\w` and `\\b` differ between engines; every class in the document is spelled out."""
    assert EMAIL_SHAPE_PATTERN in PATTERNS
    for pattern in PATTERNS:
        assert not re.search(r"\\[sSdDwWbB]", pattern), pattern


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=cases)
def test_every_pattern_matches_the_same_strings_in_ecma_and_pydantic(batch: list[tuple[str, str]]) -> None:
    ours = [_pydantic_matches(pattern, text) for pattern, text in batch]
    documented = ecma_matches(batch)
    assert documented == ours, [case for case, a, b in zip(batch, documented, ours, strict=True) if a != b]


def _pydantic_matches(pattern: str, text: str) -> bool:
    try:
        TypeAdapter(Annotated[str, Field(pattern=pattern)]).validate_python(text)
    except ValidationError:
        return False
    return True


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(emails=st.lists(spoiled(EMAIL_SHAPE_PATTERN).filter(lambda text: len(text) <= 254), min_size=40))
def test_an_email_the_document_allows_is_an_email_the_server_accepts(emails: list[str]) -> None:
    """The document's verdict (ECMA) is pydantic's (its Rust engine validates the field)."""
    documented = ecma_matches([(EMAIL_SHAPE_PATTERN, email) for email in emails])
    for email, allowed in zip(emails, documented, strict=True):
        try:
            CreatePaymentRequest.model_validate({"amount": 1, "customer_email": email})
        except ValidationError:
            accepted = False
        else:
            accepted = True
        assert accepted == allowed, repr(email)


@pytest.mark.parametrize("email", ["a\u0085b@c", "a@b\x1d", "a\u00a0@b", "\u2028@b"])
def test_the_characters_that_split_the_engines_are_refused_by_both(email: str) -> None:
    assert ecma_matches([(EMAIL_SHAPE_PATTERN, email)]) == [False]
    with pytest.raises(ValidationError):
        CreatePaymentRequest.model_validate({"amount": 1, "customer_email": email})
