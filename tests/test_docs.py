"""The Python examples in the README and docs/ stay runnable: every import in every block resolves (fast),
and the self-contained blocks run end to end (slow: some train for minutes)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# blocks that show the shape of user code (a new model or dataset, a Trainer call on the reader's data),
# not a program: only their imports are checked
FRAGMENTS = {"adding.md", "training.md"}


def blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


CASES = [pytest.param(page, i, code, id=f"{page.name}:{i}") for page in PAGES for i, code in enumerate(blocks(page))]


def test_the_pages_have_examples():
    with_code = {c.values[0].name for c in CASES}
    assert {"README.md", "mgno.md", "sinenet.md", "pig.md", "dcdm.md", "lpn.md", "medida.md", "climate.md"} <= with_code


@pytest.mark.parametrize("page, i, code", CASES)
def test_every_import_in_the_examples_resolves(page, i, code):
    tree = ast.parse(code)
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    exec(compile(ast.Module(body=imports, type_ignores=[]), f"{page.name}:{i}", "exec"), {})


@pytest.mark.slow
@pytest.mark.parametrize("page, i, code", [c for c in CASES if c.values[0].name not in FRAGMENTS])
def test_self_contained_examples_run(page, i, code, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # examples that write files (datasets, runs/) write them here
    exec(compile(code, f"{page.name}:{i}", "exec"), {"__name__": "__docs__"})


@pytest.mark.slow
def test_the_lpn_quick_start_runs_without_warnings(tmp_path, monkeypatch):
    import warnings

    code = blocks(ROOT / "docs" / "lpn.md")[0]
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a PnPConvergenceWarning or a prior_value RuntimeWarning fails
        scope = {"__name__": "__docs__"}
        exec(compile(code, "lpn.md:0", "exec"), scope)
    assert scope["R"].shape == (4,) and bool(scope["R"].isfinite().all())
