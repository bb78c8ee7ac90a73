"""examples/stable_fluids.py at toy size: each solver projects to a divergence-free field, and the
multigrid solver (updated every step as the obstacle moves) gives the same flow as CG."""
import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "examples" / "stable_fluids.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("stable_fluids", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("dim, n", [(2, 24), (3, 12)])
def test_moving_obstacle_flow_matches_between_solvers(example, dim, n):
    runs = {kind: example.simulate(kind, dim=dim, n=n, steps=4, rtol=1e-8) for kind in ("sciml", "cg")}
    for r in runs.values():
        assert r["max_div"] < 1e-5 and r["smoke"] > 0
    assert abs(runs["sciml"]["smoke"] - runs["cg"]["smoke"]) < 1e-5 * runs["cg"]["smoke"]
    assert runs["sciml"]["iterations"] < runs["cg"]["iterations"] / 3


def test_main_prints_a_summary(example, capsys):
    assert example.main(["--dim", "2", "--n", "16", "--steps", "2", "--solvers", "sciml", "pyamg", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "sciml" in out and "pyamg" in out and "max|div|" in out
