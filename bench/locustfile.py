"""Locust against the redirector, over the codes `securelink seed` wrote.

    securelink seed --count 100000 --tag load --out codes.txt
    pip install -e '.[load]'          # locust is an optional extra, never a runtime dependency
    BENCH_CODES=codes.txt locust -f bench/locustfile.py --host http://127.0.0.1:8080 \\
        --headless --users 64 --spawn-rate 64 --run-time 60s

Each simulated user follows random codes without following the redirect (the target is not
under test). A 302 is a success; anything else is a failure, named by its status.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from locust import FastHttpUser, between, task  # type: ignore[import-not-found]

CODES = [
    line.strip()
    for line in Path(os.environ.get("BENCH_CODES", "codes.txt")).read_text().splitlines()
    if line.strip()
]


class Follower(FastHttpUser):  # type: ignore[misc]
    wait_time = between(0, 0)

    @task  # type: ignore[untyped-decorator]
    def follow(self) -> None:
        code = random.choice(CODES)
        with self.client.get(
            f"/{code}", name="/{code}", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 302:
                response.success()
            else:
                response.failure(f"status {response.status_code}")
