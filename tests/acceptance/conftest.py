"""Fixtures that start the services as real processes: `stack` and `start_stack(**env)`."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stacks import Stack, StackLauncher

LOG_SECTION = "securelink processes"


@pytest.fixture
def start_stack(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """start_stack(**env) -> Stack: a stack of this test's own, e.g. with a short retention."""
    launcher = StackLauncher(redis_url, tmp_path)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One default stack per test module; tests keep apart through generated codes."""
    launcher = StackLauncher(redis_url, tmp_path_factory.mktemp("stack"))
    yield launcher()
    launcher.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, show the output of the stacks the test used."""
    report = yield
    if report.failed:
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        outputs = [
            value.output()
            for value in funcargs.values()
            if isinstance(value, Stack | StackLauncher)
        ]
        text = "\n".join(output for output in outputs if output)
        if text:
            report.sections.append((LOG_SECTION, text))
    return report
