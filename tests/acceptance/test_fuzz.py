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
from schemathesis.core.warnings import SchemathesisWarning

from tests.support.stacks import Stack

ROOT = Path(__file__).resolve().parents[2]

MAX_EXAMPLES = os.environ.get("SECURELINK_FUZZ_EXAMPLES", "25")
TIME_LIMIT_SECONDS = 240
# Every warning Schemathesis shows by default is shown here and fails the run, but one:
# "validation mismatch" (all positive cases of an operation refused, mostly with 400 or 422)
# still fires on exactly the two answers below and on nothing else (a run showing every warning
# names only PATCH /api/v1/links/{code} and POST /api/v1/links): the coverage phase sends one
# Idempotency-Key with every body it tries, and PATCHes the one code it also made a file link.
# The opt-in "low valid-input rate" warning stays off: it counts 404s for codes never created.
# Schema-valid data is accepted with Schemathesis' own statuses (2xx, 3xx, and the
# state-dependent 401, 403, 404, 409, 429, 5xx), plus two answers that depend on earlier
# requests, which no schema can tell apart and which the document states on exactly these
# operations:
# - 422 on the three operations that take an Idempotency-Key, for a key the coverage phase sends
#   again with another body ("Idempotency-Key was used with a different request"); the other
#   phases get a fresh key per case from tests/support/fuzz_hooks.py, since a replay of a link
#   that a later call deleted made the stateful phase fail now and then (ST302);
# - 400 on PATCH, for `targetUrl` on a link that an earlier request made a file link ("targetUrl:
#   cannot be set on a file link"): the link's kind is not in the request. The check reads its
#   statuses from this file only, never from the document, so that 400 is named here too.
IDEMPOTENT = ("/api/v1/links", "/api/v1/links/batch", "/api/v1/files")
SHOWN = ", ".join(
    f'"{warning.value}"'
    for warning in SchemathesisWarning
    if warning not in (SchemathesisWarning.VALIDATION_MISMATCH, SchemathesisWarning.LOW_VALID_RATE)
)
ACCEPTED = '"2xx", "3xx", "401", "403", "404", "409", "429", "5xx"'
CONFIG = (
    f"""
[warnings]
display = [{SHOWN}]
fail-on = true
"""
    + "".join(
        f"""
[[operations]]
include-path = "{path}"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]
"""
        for path in IDEMPOTENT
    )
    + f"""
[[operations]]
include-path = "/api/v1/links/{{code}}"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "400"]
"""
)


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
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.support.fuzz_hooks",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        },
        check=False,
    )

    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "No issues found" in result.stdout, result.stdout[-6000:]
