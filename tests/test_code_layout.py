"""The code's layout rules, checked on the source: small library functions, no imports hidden inside
functions (they would slip past the import-linter layers in pyproject.toml), and no use of the benchmark
package outside it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = [p for p in sorted((ROOT / "sciml").rglob("*.py")) if "bench" not in p.relative_to(ROOT).parts]
MAX_BODY_LINES = 60
# The command line imports each command's module when the command runs, so `sciml --help` starts fast.
LAZY_IMPORTS_ALLOWED = {ROOT / "sciml" / "cli.py"}


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _body_lines(fn: ast.FunctionDef) -> int:
    """Lines of ``fn`` after its signature and docstring."""
    body = fn.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return fn.end_lineno - body[0].lineno + 1


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_functions_are_at_most_about_sixty_lines(path):
    long = [(fn.name, _body_lines(fn)) for fn in _functions(path) if _body_lines(fn) > MAX_BODY_LINES]
    assert not long, f"{path.relative_to(ROOT)}: split into named steps: {long}"


@pytest.mark.parametrize("path", [p for p in LIBRARY if p not in LAZY_IMPORTS_ALLOWED],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_sciml_modules_are_imported_at_module_level(path):
    hidden = [(fn.name, node.lineno) for fn in _functions(path) for node in ast.walk(fn)
              if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sciml")]
    assert not hidden, f"{path.relative_to(ROOT)}: move these imports to the top of the module: {hidden}"


def test_the_layout_rules_detect_what_they_forbid(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from sciml.data import open_dataset\n" + "    x = 1\n" * 61)
    fn = next(_functions(src))
    assert _body_lines(fn) == 62
    assert any(isinstance(n, ast.ImportFrom) and n.module.startswith("sciml") for n in ast.walk(fn))


def test_nothing_outside_the_benchmarks_imports_them():
    """Examples and tests use the library; only sciml/bench, its tests and the command line see sciml.bench."""
    pattern = re.compile(r"^\s*(from sciml\.bench\b|from sciml import bench\b|import sciml\.bench\b)", re.M)
    files = [*(ROOT / "examples").rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *LIBRARY]
    users = [str(p.relative_to(ROOT)) for p in files
             if "bench" not in p.relative_to(ROOT).parts[:2] and p.name != "cli.py" and pattern.search(p.read_text())]
    assert not users, f"these import sciml.bench; use the library instead: {users}"
