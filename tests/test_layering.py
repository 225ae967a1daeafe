"""The packages' layers (docs/architecture.md): each may import only the ones below it.

aws_protocol (the AWS protocol kernel) < audit < queues < notifications < console (the project and the
web console). A lower package importing a higher one fails here, naming the file and line.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each package, and the packages of Roost's it must never import.
FORBIDDEN = {
    "aws_protocol": {"audit", "console", "queues", "notifications"},
    "audit": {"console", "queues", "notifications"},
    "queues": {"console", "notifications"},
    "notifications": {"console"},
}


def imported_packages(path):
    """(line, top-level package) for every import in a module, lazy ones inside functions too."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def modules(package):
    return [
        path
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_the_layers_below_it(package):
    assert modules(package), f"no modules found under {package}/"
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in modules(package)
        for line, imported in imported_packages(path)
        if imported in FORBIDDEN[package]
    ]
    assert crossings == []


def test_the_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from console.roles import is_operator\n")
    assert list(imported_packages(module)) == [(2, "console")]
