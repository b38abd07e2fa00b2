"""Schemathesis against the admin API's own /openapi.json, every check on, a small budget.

No server error, no schema violation, schema-valid data accepted and schema-invalid data
refused: the document has to say exactly what the server does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stacks import Stack

MAX_EXAMPLES = os.environ.get("SECURELINK_FUZZ_EXAMPLES", "25")
TIME_LIMIT_SECONDS = 240
ACCEPTED = '"2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"'
# Most generated creates and PATCHes are refused by the rules below (and PATCHes by 404 for
# codes that do not exist), so the "validation mismatch" warning (a rate, not a failure) is off;
# every check still runs on every operation.
SHOWN = ", ".join(
    f'"{name}"'
    for name in ("missing_auth", "missing_test_data", "base_url_mismatch", "missing_deserializer")
)
# Schema-valid data the contract still refuses, which no schema can tell apart:
# - 422: an Idempotency-Key that the fuzzer sends again with another body;
# - 400 on PATCH: `targetUrl` on a file link (the link's kind is not in the request).
CONFIG = f"""
[warnings]
display = [{SHOWN}]

[checks.positive_data_acceptance]
expected-statuses = [{ACCEPTED}]

[[operations]]
include-path = "/api/v1/links/{{code}}"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400"]
"""


def schemathesis() -> list[str]:
    executable = Path(sys.executable).with_name("st")
    if executable.exists():
        return [str(executable)]
    found = shutil.which("st")
    if found is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[test]'")
    return [found]


def test_admin_api_passes_schemathesis_with_every_check(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    command = [
        *schemathesis(),
        "run",
        f"{stack.admin_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {stack.admin_key}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        os.environ.get("SECURELINK_FUZZ_SEED", "20261125"),
        "--workers",
        "1",
        "--request-timeout",
        "10",
    ]

    result = subprocess.run(
        command,
        cwd=tmp_path,  # its report directory and caches stay out of the work tree
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_SECONDS,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"},
        check=False,
    )

    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "No issues found" in result.stdout, result.stdout[-6000:]
