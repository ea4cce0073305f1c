"""The limits on values: the quick answer for flat outputs is the same as the full walk's."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from weboter.runtime.core import limits
from weboter.runtime.core.limits import check_value, flat
from weboter.runtime.errors import ValueRefused


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "value",
    [
        {},
        {"n": 1, "x": 1.5, "ok": True, "none": None, "text": "hello"},
        {"edge": 2**64 - 1, "low": -(2**63)},
    ],
)
def test_flat_plain_values_pass(value: dict[str, Any]) -> None:
    assert flat(value)
    check_value(value, "outputs")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "value",
    [
        {"pair": (1, 2)},  # msgpack makes it a list: not flat
        {"nested": {"a": 1}},
        {"items": [1, 2]},
        {"when": datetime.date(2026, 1, 1)},
        [1, 2],
        "text",
    ],
)
def test_containers_tuples_and_objects_are_not_flat(value: Any) -> None:
    assert not flat(value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 2**70])
def test_a_number_beyond_64_bits_in_flat_outputs_is_refused(number: int) -> None:
    assert not flat({"n": number})
    with pytest.raises(ValueRefused, match=r"outputs\.n: the whole number .* 64 bits"):
        check_value({"n": number}, "outputs")


@pytest.mark.timeout(10)
def test_text_over_the_limit_in_flat_outputs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TEXT", 10)  # the real limit is 50 million characters
    assert not flat({"t": "x" * 11})
    with pytest.raises(ValueRefused, match=r"outputs\.t: text of 11 characters"):
        check_value({"t": "x" * 11}, "outputs")
    check_value({"t": "x" * 10}, "outputs")


@pytest.mark.timeout(10)
def test_a_flat_dict_of_too_many_values_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ITEMS", 5)
    with pytest.raises(ValueRefused, match="more than 5 values"):
        check_value({str(i): i for i in range(6)}, "outputs")
