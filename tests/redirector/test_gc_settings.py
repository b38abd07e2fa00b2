"""The redirector's server process keeps CPython's cycle collector off the hot path."""

from __future__ import annotations

import subprocess
import sys

from redirector.app import GC_YOUNG_THRESHOLD

PROBE = """
import gc
from redirector.app import factory
before = gc.get_threshold()
factory()
after = gc.get_threshold()
print(before[0], after[0], gc.get_freeze_count() > 0, after[1:] == before[1:])
"""


def test_the_server_entry_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    # A process of its own: freezing is for the whole process, and the test runner must keep
    # its own collector as it is.
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=False,
        env={"SECURELINK_REDIS_URL": "redis://127.0.0.1:1", "PATH": ""},
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["700", str(GC_YOUNG_THRESHOLD), "True", "True"]
