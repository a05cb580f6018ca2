"""compliance/ is the pure domain: no web framework, ORM, chain or pydantic imports (design.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import compliance

FORBIDDEN = {
    "fastapi",
    "sqlalchemy",
    "web3",
    "pydantic",
    "pydantic_settings",
    "eth_account",
    "starlette",
    "httpx",
}
PACKAGE_DIR = Path(compliance.__file__).parent


def imported_top_level_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_no_compliance_module_imports_a_framework_orm_or_chain_library() -> None:
    offenders = {
        path.name: sorted(imported_top_level_modules(path) & FORBIDDEN) for path in PACKAGE_DIR.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_package_ships_type_information() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()
