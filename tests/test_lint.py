"""Lint, format and types are part of the suite, so ./scripts/test and CI check them too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_ruff_finds_nothing_to_lint_or_reformat() -> None:
    check = _run("ruff", "check", ".")
    format_check = _run("ruff", "format", "--check", ".")

    assert check.returncode == 0, check.stdout + check.stderr
    assert format_check.returncode == 0, format_check.stdout + format_check.stderr


def test_mypy_strict_passes_on_the_packages() -> None:
    result = _run("mypy")

    assert result.returncode == 0, result.stdout + result.stderr
