"""decode_json_object: one JSON object or None, and a member name given twice is None."""

from __future__ import annotations

import pytest

from shared.bodies import decode_json_object


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"targetUrl": "https://a.example/", "targetUrl": "https://b.example/"}',
        b'{"a": 1, "\\u0061": 2}',
        b'{"x": {"k": 1, "k" : 1}}',
        b'{"x": [{"k": 1}, {"k": 1, "k": 2}]}',
        b'{"s": "\\":", "a": 1, "a": 2}',
    ],
)
def test_a_member_name_given_twice_is_refused(body: bytes) -> None:
    assert decode_json_object(body) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1, "b": 2}', {"a": 1, "b": 2}),
        (b'{"u": "https://a.example:8443/x?y=1"}', {"u": "https://a.example:8443/x?y=1"}),
        (b'{"s": "\\":\\":", "t": "\\" :"}', {"s": '":":', "t": '" :'}),
        (b'{"x": [{"k": 1}, {"k": 2}], "k": 3}', {"x": [{"k": 1}, {"k": 2}], "k": 3}),
        (b"{}", {}),
    ],
)
def test_distinct_names_are_kept_even_when_strings_hold_colons(
    body: bytes, expected: object
) -> None:
    assert decode_json_object(body) == expected
