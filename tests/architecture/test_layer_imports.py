"""Architectural fitness: the domain imports only the standard library and attrs.

import-linter (run by the test command) forbids named modules; this test is the allow-list
beside it, so a new third-party import in the domain fails even if nobody thought to forbid it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
DOMAIN_ALLOWED_THIRD_PARTY = {"attrs"}
DOMAIN_FORBIDDEN_STDLIB = {
    "socket", "ssl", "select", "selectors", "threading", "multiprocessing", "concurrent",
    "asyncio", "subprocess", "time", "datetime", "random", "secrets", "logging", "sqlite3",
    "os", "io", "pathlib", "shutil", "tempfile", "urllib", "http",
}  # fmt: skip
APPLICATION_FORBIDDEN = {
    "socket", "ssl", "sqlite3", "urllib", "http", "requests", "websockets", "sqlalchemy",
    "coinbase", "cosmpy", "v4_proto", "google", "grpc", "psycopg", "psycopg2", "aiohttp", "httpx",
}  # fmt: skip


def top_level_imports(package: Path) -> dict[str, set[Path]]:
    """Map each imported top-level module name to the files importing it (absolute imports only)."""
    found: dict[str, set[Path]] = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(package.parent))
    return found


def test_domain_imports_only_the_standard_library_attrs_and_itself() -> None:
    offenders = {
        name: sorted(map(str, files))
        for name, files in top_level_imports(SRC / "domain").items()
        if name != "domain"
        and name not in DOMAIN_ALLOWED_THIRD_PARTY
        and (name not in sys.stdlib_module_names or name in DOMAIN_FORBIDDEN_STDLIB)
    }
    assert offenders == {}


def test_domain_imports_no_outer_layer() -> None:
    imports = top_level_imports(SRC / "domain")
    assert {"application", "infrastructure", "interfaces"} & imports.keys() == set()


def test_application_imports_no_venue_sdk_database_or_network_library() -> None:
    imports = top_level_imports(SRC / "application")
    assert APPLICATION_FORBIDDEN & imports.keys() == set()
    assert {"infrastructure", "interfaces"} & imports.keys() == set()


def test_the_scanner_sees_a_forbidden_import(tmp_path: Path) -> None:
    # Guards the guard: a scanner that found nothing would pass every test above.
    package = tmp_path / "domain"
    package.mkdir()
    (package / "clock.py").write_text("import time\nfrom socket import socket\nfrom . import x\n")
    imports = top_level_imports(package)
    assert imports.keys() == {"time", "socket"}
    assert imports["time"] == {Path("domain/clock.py")}


@pytest.mark.skipif(sys.platform == "win32", reason="uses the venv's console script")
def test_import_linter_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=SRC.parent, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
