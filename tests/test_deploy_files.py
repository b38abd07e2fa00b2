"""docker-compose.yml, the Dockerfile and the wheel agree with the code (no Docker needed)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"SECURELINK_[A-Z0-9_]+")
DEFAULTS = Settings()
# compose service (= module it runs): the variable of its port and the default port
APP_SERVICES = {
    "admin_api": ("SECURELINK_ADMIN_PORT", DEFAULTS.admin_port),
    "redirector": ("SECURELINK_REDIRECTOR_PORT", DEFAULTS.redirector_port),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _variables_read_by_settings() -> set[str]:
    # Every variable Settings reads is in its one table (shared/settings.py, _VARIABLES).
    from shared import settings

    return {variable for variable, _ in settings._VARIABLES.values()}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment is written as a mapping"
    return {str(k): str(v) for k, v in environment.items()}


def test_every_variable_in_compose_is_read_by_settings() -> None:
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    read = _variables_read_by_settings()

    assert "SECURELINK_REDIS_URL" in read
    assert used, "compose configures the services through SECURELINK_* variables"
    assert used - read == set()


def test_compose_defaults_match_the_settings_defaults(compose: dict[str, Any]) -> None:
    assert (DEFAULTS.admin_port, DEFAULTS.redirector_port) == (8081, 8080)
    for module, (port_variable, port) in APP_SERVICES.items():
        service = compose["services"][module]
        env = _environment(service)
        assert service["command"] == ["python", "-m", module]
        assert importlib.util.find_spec(f"{module}.__main__") is not None
        published = [str(mapping).rsplit(":", 2)[-2:] for mapping in service["ports"]]
        assert published == [[str(port), str(port)]]
        assert all(str(mapping).startswith("127.0.0.1:") for mapping in service["ports"])
        assert env[port_variable] == str(port)
        assert env["SECURELINK_REDIS_URL"] == "redis://redis:6379/0"
        assert env["SECURELINK_HOST"] == "0.0.0.0"
        assert env["SECURELINK_DATA_DIR"] == "/data/files"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["build"] == "."


def test_the_proxy_appends_forwarded_for_and_only_it_is_trusted(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    redirector = _environment(compose["services"]["redirector"])
    config = compose["configs"]["nginx-conf"]["content"]

    address = proxy["networks"]["edge"]["ipv4_address"]
    assert redirector["SECURELINK_TRUSTED_PROXIES"] == address
    trusted = Settings.from_env({"SECURELINK_TRUSTED_PROXIES": address}).trusted_proxies
    assert [str(network) for network in trusted] == [f"{address}/32"]
    # $$ is compose's escape of a literal $.
    assert "proxy_set_header X-Forwarded-For $$proxy_add_x_forwarded_for;" in config
    assert "proxy_pass http://redirector:8080;" in config
    assert all(str(mapping).startswith("127.0.0.1:") for mapping in proxy["ports"])


def test_admin_key_is_required_from_the_environment(compose: dict[str, Any]) -> None:
    admin_env = _environment(compose["services"]["admin_api"])

    assert re.fullmatch(r"\$\{SECURELINK_ADMIN_KEY:\?.+\}", admin_env["SECURELINK_ADMIN_KEY"])


def test_redis_keeps_an_append_only_file_synced_every_second(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = redis["command"]

    assert redis["image"].startswith("redis:7")
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert any(str(volume).split(":")[1] == "/data" for volume in redis["volumes"])
    assert str(redis["volumes"][0]).split(":")[0] in compose["volumes"]
    assert "healthcheck" in redis


def test_uploaded_files_volume_is_shared_by_both_services(compose: dict[str, Any]) -> None:
    mounts = [
        {str(volume) for volume in compose["services"][name]["volumes"]} for name in APP_SERVICES
    ]

    shared = set.intersection(*mounts)
    assert "files:/data/files" in shared
    assert "files" in compose["volumes"]


def test_dockerfile_installs_a_regular_wheel_as_a_non_root_user(dockerfile: str) -> None:
    instructions = [line.strip() for line in dockerfile.splitlines() if line.strip()]
    from_lines = [line for line in instructions if line.startswith("FROM ")]
    expose = {
        port for line in instructions if line.startswith("EXPOSE ") for port in line.split()[1:]
    }

    assert all(line.split()[1] == "python:3.11-slim" for line in from_lines)
    assert "pip install -e" not in dockerfile and "--editable" not in dockerfile
    assert re.search(r"pip (wheel|install)\b[^\n]*\s\.\s*$", dockerfile, re.MULTILINE)
    assert expose == {"8080", "8081"}
    assert any(line.startswith("USER ") and line.split()[1] != "root" for line in instructions)
    assert "COPY lua ./lua" in dockerfile
    assert "[test]" not in dockerfile


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The files of the wheel, built once per run as pip (and the Dockerfile) builds it."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", ".", "-w", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = out.glob("securelink-*.whl")
    with zipfile.ZipFile(built) as archive:
        return set(archive.namelist())


def test_wheel_carries_every_lua_script_as_shared_lua(wheel_files: set[str]) -> None:
    scripts = {path.relative_to(ROOT / "lua").as_posix() for path in (ROOT / "lua").rglob("*.lua")}

    packaged = {
        name.removeprefix("shared/lua/") for name in wheel_files if name.startswith("shared/lua/")
    }

    assert scripts, "lua/ holds the scripts"
    assert packaged == scripts


def test_wheel_carries_the_three_packages_and_no_tests(wheel_files: set[str]) -> None:
    expected = {"shared/settings.py", "redirector/__main__.py", "admin_api/__main__.py"}

    assert expected <= wheel_files
    assert not any(name.startswith(("tests/", "scripts/")) for name in wheel_files)


@pytest.fixture(scope="module")
def cluster_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
    return document


def test_cluster_compose_runs_3_primaries_and_3_replicas_created_once(
    cluster_compose: dict[str, Any],
) -> None:
    services = cluster_compose["services"]
    nodes = sorted(name for name in services if name.startswith("redis-"))
    create = " ".join(services["cluster-create"]["command"])

    assert nodes == [f"redis-{n}" for n in range(1, 7)]
    for name in nodes:
        command = services[name]["command"]
        assert "--cluster-enabled yes" in command
        assert "--cluster-require-full-coverage no" in command
        assert "--cluster-node-timeout 5000" in command
    assert "--cluster create" in create
    assert "--cluster-replicas 1" in create
    assert "--cluster-yes" in create
    assert "for n in 1 2 3 4 5 6" in create
    assert set(services["cluster-create"]["depends_on"]) == set(nodes)
    assert services["cluster-create"]["restart"] == "no"


def test_cluster_compose_services_run_in_cluster_mode_after_the_create_job(
    cluster_compose: dict[str, Any],
) -> None:
    services = cluster_compose["services"]
    used = set(VARIABLE.findall((ROOT / "docker-compose.cluster.yml").read_text()))

    for name, (port_variable, port) in APP_SERVICES.items():
        environment = _environment(services[name])
        assert environment["SECURELINK_REDIS_CLUSTER"] == "1"
        assert environment["SECURELINK_REDIS_URL"] == "redis://redis-1:6379/0"
        assert environment[port_variable] == str(port)
        assert services[name]["command"] == ["python", "-m", name]
        depends = services[name]["depends_on"]["cluster-create"]
        assert depends == {"condition": "service_completed_successfully"}
    assert used - _variables_read_by_settings() == set()
