"""pyproject allows Python 3.10: nothing of 3.11's standard library is used without a fallback."""

import ast
import re

from .conftest import REPO

SINCE_3_11 = {"tomllib": "import", "file_digest": "attribute"}


def _guarded(tree: ast.Module) -> set[int]:
    """Lines inside an `if sys.version_info ...:` block."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "version_info" in ast.unparse(node.test):
            for child in ast.walk(node):
                if hasattr(child, "lineno"):
                    lines.add(child.lineno)
    return lines


def test_nothing_new_in_python_3_11_is_used_unguarded():
    assert re.search(r'requires-python = ">=3.10"', (REPO / "pyproject.toml").read_text())
    found = []
    for path in sorted((REPO / "inteleq_rt").rglob("*.py")):
        tree = ast.parse(path.read_text())
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            if any(n in SINCE_3_11 for n in names) and node.lineno not in guarded:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found
