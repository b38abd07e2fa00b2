"""ascii_url: what a Location header can carry, with only the non-ASCII characters encoded."""

from __future__ import annotations

import pytest

from shared.urls import ascii_url


def test_non_ascii_characters_are_percent_encoded_as_utf8() -> None:
    assert ascii_url("https://a.example/€?q=é#à") == "https://a.example/%E2%82%AC?q=%C3%A9#%C3%A0"


@pytest.mark.parametrize(
    "text",
    [
        "https://a.example/a%20b?x=%2F&y=%e2%82%ac#top",
        "/p;params/a:b@c!$&'()*+,=?q=/?#frag/?",
        "%%zz%",
    ],
)
def test_ascii_text_is_kept_as_it_is(text: str) -> None:
    assert ascii_url(text) == text


def test_existing_escapes_are_not_encoded_again_next_to_new_ones() -> None:
    assert ascii_url("/%E2%82%AC€%") == "/%E2%82%AC%E2%82%AC%"


def test_characters_outside_the_basic_plane_are_encoded_as_four_bytes() -> None:
    assert ascii_url("/😀") == "/%F0%9F%98%80"
