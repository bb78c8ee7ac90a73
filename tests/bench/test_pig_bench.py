"""``sciml bench pig --quick``: JSON names as the issue specifies, the command as a user types it."""
from __future__ import annotations

import json

from sciml.bench.pig import main


def test_quick_bench_writes_issue_names(tmp_path):
    assert main(["--quick", "--tasks", "poisson_sharp", "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "pig.json").read_text())
    assert d["command"] == f"sciml bench pig --quick --tasks poisson_sharp --out {tmp_path}"
    keys = {(r["task"], r["method"], r["metric"]) for r in d["rows"]}
    assert keys == {("poisson_sharp", m, k) for m in ("pig", "pinn", "pinn_fourier") for k in ("rel_l2", "wall_s", "params")}
    assert all(r["value"] is not None and r["value"] > 0 for r in d["rows"])
    assert (tmp_path / "pig.png").stat().st_size > 0 and "poisson_sharp" in (tmp_path / "pig.md").read_text()
