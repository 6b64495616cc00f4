"""The apps stay layered: one authorization module at the bottom, asked from above, never the other way.

Read from the source (ast), not by importing: an import hidden inside a function counts as much as one
at the top of a module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BELOW_INCIDENTS = ["organisations", "accounts", "collectors", "detection", "readiness", "notifications", "console"]
ABOVE_ORGANISATIONS = ["incidents", "collectors", "detection", "readiness", "notifications", "console", "accounts"]


def imported_modules(app: str) -> list[tuple[str, str]]:
    """(file, module) for every import in the app's Python files, migrations left out (generated)."""
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(str(path.relative_to(ROOT)), f"{node.module}.{alias.name}") for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
    return found


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


@pytest.mark.parametrize("app", BELOW_INCIDENTS)
def test_no_app_asks_incidents_who_may_do_what(app: str) -> None:
    offenders = [(path, module) for path, module in imported_modules(app)
                 if _is_under(module, "incidents.permissions")]

    assert offenders == []


@pytest.mark.parametrize("app", [*BELOW_INCIDENTS[1:], "incidents"])
def test_only_the_authorization_module_reads_a_users_grants(app: str) -> None:
    """Reading (path, role) pairs is how a module grows its own role checks: they are asked of Permissions."""
    offenders = [(path, module) for path, module in imported_modules(app)
                 if module == "organisations.selectors.user_grants"]

    assert offenders == []


def test_incidents_permissions_is_gone_so_there_is_one_authorization_module() -> None:
    assert not (ROOT / "incidents" / "permissions.py").exists()
    assert (ROOT / "organisations" / "access.py").exists()


def test_organisations_imports_no_app_above_it() -> None:
    offenders = [(path, module) for path, module in imported_modules("organisations")
                 if any(_is_under(module, app) for app in ABOVE_ORGANISATIONS)]

    assert offenders == []


def test_the_walk_sees_real_imports() -> None:
    """Guards the guard: a walker that found nothing would pass every test above."""
    modules = {module for _, module in imported_modules("collectors")}

    assert "organisations.access.Permissions" in modules


def test_the_collector_agent_imports_only_the_standard_library_and_itself() -> None:
    """The agent ships alone to a log host: no Django, no app, no package the host may not have.

    Stricter than the import-linter contract (which names what is forbidden): this names what is allowed.
    The two optional packages are imported under ``try/except ImportError``: the agent runs without them.
    """
    optional = {"orjson", "Evtx"}
    offenders = [(path, module) for path, module in imported_modules("collectors/agent")
                 if module.split(".")[0] not in sys.stdlib_module_names | optional
                 and not _is_under(module, "collectors.agent")]

    assert offenders == []
