"""Canonical JSON: rfc8785 is the reference; the fast check must agree with it exactly."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import ZERO_HASH, canonical, parse_canonical


@pytest.mark.parametrize("value, expected", [
    ({"b": 2, "a": 1}, b'{"a":1,"b":2}'),
    ({"a": [True, False, None, "x"]}, b'{"a":[true,false,null,"x"]}'),
    ({"s": "line\nbreak\t\"q\" \\ \x01 \x7f é 沪"},
     '{"s":"line\\nbreak\\t\\"q\\" \\\\ \\u0001 \x7f é 沪"}'.encode()),
    ({"\ue000": 1, "\U00010000": 2}, '{"\U00010000":2,"\ue000":1}'.encode()),  # UTF-16 order, not code points
    ({"n": -(2**53 - 1)}, b'{"n":-9007199254740991}'),
    ([], b"[]"),
])
def test_canonical_known_answers(value: object, expected: bytes) -> None:
    assert canonical(value) == expected
    assert parse_canonical(expected) == value


@pytest.mark.parametrize("value", [1.5, [0.0], {"a": {"b": [1, 2.0]}}, ({"x": 1e3},), float("nan"),
                                   {"b": 1.5, "a": (1,)}])
def test_canonical_rejects_floats_anywhere(value: object) -> None:
    with pytest.raises(ValueError, match="float"):
        canonical(value)


@pytest.mark.parametrize("value", [{"n": 2**53}, {1: "non-string key"}, {"s": "\ud800"}])
def test_canonical_rejects_what_rfc8785_cannot_encode(value: object) -> None:
    with pytest.raises(ValueError):
        canonical(value)


def test_zero_hash() -> None:
    assert ZERO_HASH == "0" * 64


@pytest.mark.parametrize("data, reason", [
    (b'{"a": 1}', "canonical"),
    (b'{"b":1,"a":2}', "canonical"),
    (b'{"a":1,"a":1}', "canonical"),  # duplicate key
    (b'{"a":"\\u0041"}', "canonical"),  # needless escape
    (b'{"a":"\\/"}', "canonical"),
    (b'{"a":"\\u001F"}', "canonical"),  # escapes are lowercase
    (b'{"a":"\\u00e9"}', "canonical"),
    (b'{"a":-0}', "canonical"),
    ('{"\ue000":1,"\U00010000":2}'.encode(), "canonical"),  # code point order, not UTF-16
    (b'{"a":1.0}', "float"),
    (b'{"a":1e2}', "float"),
    (b'{"a":NaN}', "float"),
    (b'{"a":-Infinity}', "float"),
    (b'{"a":9007199254740992}', "safe range"),
    (b'{"a":"\\ud800"}', "canonical"),  # lone surrogate
    (b'{"a":1} ', "trailing"),
    (b' {"a":1}', "valid JSON"),
    (b'{"a":01}', "valid JSON"),
    (b'{"a":1,}', "valid JSON"),
    (b'{"a":"\xff"}', "valid JSON"),
    (b'{"a":"\x01"}', "valid JSON"),  # raw control character
    (b"", "valid JSON"),
])
def test_parse_canonical_rejects(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_canonical(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonical_bytes_are_accepted(value: object) -> None:
    assert parse_canonical(rfc8785.dumps(value)) == value  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans(), st.booleans(), st.sampled_from([(",", ":"), (", ", ": ")]))
def test_fast_check_agrees_with_rfc8785(value: object, ascii_only: bool, sort: bool,
                                        separators: tuple[str, str]) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only, sort_keys=sort, separators=separators).encode()
    reference_accepts = rfc8785.dumps(json.loads(data)) == data
    try:
        parse_canonical(data)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == reference_accepts


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_equals_rfc8785(value: object) -> None:
    """The C-encoder fast path of `canonical` writes exactly what the rfc8785 package writes."""
    try:
        expected = rfc8785.dumps(value)  # type: ignore[arg-type]
    except ValueError:
        with pytest.raises(ValueError):
            canonical(value)
        return
    assert canonical(value) == expected
