"""Key naming: every key of one link carries the link's hash tag."""

from __future__ import annotations

import pytest

from shared.keys import Keys, is_valid_code


def test_every_key_of_a_link_carries_its_code_as_hash_tag() -> None:
    keys = Keys("sl")

    link_keys = list(keys.owned_keys("Xk3p9QaZ2m"))

    assert link_keys == [
        "sl:link:{Xk3p9QaZ2m}",
        "sl:stats:{Xk3p9QaZ2m}",
        "sl:stats:{Xk3p9QaZ2m}:previews",
        "sl:pwrate:{Xk3p9QaZ2m}",
        "sl:pwfail:{Xk3p9QaZ2m}",
        "sl:pwpend:{Xk3p9QaZ2m}",
    ]


def test_link_keys_and_the_index_live_under_the_prefix() -> None:
    keys = Keys("prod")

    assert keys.link("abcd") == "prod:link:{abcd}"
    assert keys.index == "prod:index"


@pytest.mark.parametrize("code", ["abcd", "A-b_9", "x" * 64, "Xk3p9QaZ2m"])
def test_valid_codes(code: str) -> None:
    assert is_valid_code(code)


@pytest.mark.parametrize(
    "code",
    ["", "abc", "x" * 65, "abc.d", "ab cd", "ab/cd", "{abcd}", "abcd\n", "ähnlich", "abc%20"],
)
def test_invalid_codes(code: str) -> None:
    assert not is_valid_code(code)
