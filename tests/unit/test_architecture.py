"""The allowed arrows between packages (docs/architecture.md), checked on every import, lazy ones included."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "geusemaker"
#: package -> what it may import of ours (besides itself); cli may import everything.
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "catalog": {"models"},
    "errors": {"redact"},
    "redact": set(),
    "paths": {"errors"},
    "logfile": {"paths", "redact"},
    "config_io": {"errors", "models"},
    "config_reference": {"models"},
    "userdata": {"errors", "models"},
    "services": {"catalog", "errors", "models", "paths"},
    "planning": {"catalog", "errors", "models", "services", "userdata"},
    "health": {"models", "services"},
    "state": {"errors", "models", "paths"},
    "orchestration": {"errors", "models", "planning", "services", "state", "userdata"},
    "sandbox": {"catalog", "errors", "models"},
}
AWS_SDK = {"boto3", "botocore"}


def _imports() -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path] = names
    return found


def _package(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_packages_import_only_along_the_allowed_arrows() -> None:
    wrong = []
    for path, names in _imports().items():
        package = _package(path)
        if package in {"cli", "__main__", "__init__"}:
            continue
        ours = {name.split(".")[1] for name in names if name.startswith("geusemaker.")} - {package}
        for target in sorted(ours - ALLOWED[package]):
            wrong.append(f"{path.relative_to(ROOT)} imports geusemaker.{target}")
    assert wrong == []


def test_only_services_import_the_aws_sdk() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, names in _imports().items()
        for name in names
        if name.split(".")[0] in AWS_SDK and _package(path) != "services"
    ]
    assert wrong == []


def test_no_module_grows_past_about_300_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 330
    }
    assert long == {}
