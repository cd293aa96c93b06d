"""Metrics leave as one EMF line per invocation when enabled, and never when disabled.

Powertools' own disabled flush keeps the invocation's metrics, so they pile up until one metric
holds 100 values and Powertools prints them anyway; metrics_flushed drops them instead.
"""

import contextlib
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions.infra import observability


@observability.metrics_flushed
def _counting_handler(event: dict[str, Any], context: Any) -> int:
    for name in event["names"]:
        observability.metrics.add_metric(name=name, unit="Count", value=1)
    return len(event["names"])


def _printed_by(invocations: list[list[str]], metrics_disabled: str) -> str:
    """What the handler prints (Powertools prints its EMF lines) over `invocations`, each adding one
    metric per name, with POWERTOOLS_METRICS_DISABLED set to `metrics_disabled`."""
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("POWERTOOLS_METRICS_DISABLED", metrics_disabled)
        for names in invocations:
            assert _counting_handler({"names": names}, None) == len(names)
    return printed.getvalue()


_NAMES = st.lists(st.sampled_from(["PaymentAuthorized", "PaymentDeclined", "SessionRead"]), min_size=1, max_size=4)


@settings(max_examples=20, deadline=None)
@given(st.lists(_NAMES, min_size=101, max_size=140))
def test_disabled_metrics_print_nothing_however_many_invocations(invocations: list[list[str]]) -> None:
    assert _printed_by(invocations, metrics_disabled="true") == ""
    assert observability.metrics.metric_set == {}


@settings(max_examples=10, deadline=None)
@given(st.lists(_NAMES, min_size=1, max_size=5))
def test_enabled_metrics_are_one_line_per_invocation_with_its_own_counts(invocations: list[list[str]]) -> None:
    lines = [json.loads(line) for line in _printed_by(invocations, metrics_disabled="false").splitlines()]
    assert len(lines) == len(invocations)
    for line, names in zip(lines, invocations, strict=True):
        for name in set(names):
            counted = line[name] if isinstance(line[name], list) else [line[name]]
            assert len(counted) == names.count(name)


def test_a_disabled_invocation_drops_each_metric_where_it_is_added(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reaches the set during the invocation (the add costs nothing); outside an invocation
    and in an enabled one, a metric is added as Powertools adds it."""
    seen: list[dict[str, Any]] = []

    @observability.metrics_flushed
    def handler(event: dict[str, Any], context: Any) -> None:
        observability.metrics.add_metric(name="PaymentRead", unit="Count", value=1)
        seen.append(dict(observability.metrics.metric_set))

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    handler({}, None)
    handler({}, None)
    assert seen == [{}, {}]
    try:
        observability.metrics.add_metric(name="PaymentRead", unit="Count", value=1)
        assert "PaymentRead" in observability.metrics.metric_set
    finally:
        observability.metrics.clear_metrics()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        handler({}, None)
    assert "PaymentRead" in seen[-1]
    assert json.loads(printed.getvalue())["PaymentRead"] == [1.0]


_SWITCH_VALUES = st.sampled_from([None, "true", "false", "True", "1", "0", "y", "no", "", "maybe"])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(_SWITCH_VALUES, _SWITCH_VALUES), min_size=1, max_size=6))
def test_metrics_disabled_says_what_powertools_says_as_the_variables_change(
    settings_in_turn: list[tuple[str | None, str | None]],
) -> None:
    """The switch read per invocation agrees with Powertools' rule for every value of its two
    variables, and follows them when they change (an invalid value raises as Powertools raises)."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    with pytest.MonkeyPatch.context() as patch:
        for dev, disabled in settings_in_turn:
            for name, value in (("POWERTOOLS_DEV", dev), ("POWERTOOLS_METRICS_DISABLED", disabled)):
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            try:
                expected: bool | type[Exception] = is_metrics_disabled()
            except ValueError:
                expected = ValueError
            if expected is ValueError:
                with pytest.raises(ValueError, match="invalid truth value"):
                    observability.metrics_disabled()
            else:
                assert observability.metrics_disabled() is expected
