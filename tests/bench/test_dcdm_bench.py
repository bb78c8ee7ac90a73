"""`sciml bench dcdm --quick`: every method runs, converges on the easy grids, and the page has the ratios."""
import json

import numpy as np

from sciml.bench.dcdm import main, run_method
from sciml.linalg.families import make_system


def test_quick_bench_writes_rows_ratios_and_plot(tmp_path):
    main(["--quick", "--families", "obstacles", "--methods", "cg", "mg_pcg", "amg_sa", "--repeats", "1",
          "--threads", "1", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "dcdm.json").read_text())
    its = {(r["task"], r["method"]): r["value"] for r in data["rows"] if r["metric"] == "iterations"}
    assert its[("obstacles_96x96", "mg_pcg")] < its[("obstacles_96x96", "cg")] / 5
    page = (tmp_path / "dcdm.md").read_text()
    assert "| obstacles_24x20x18 |" in page and "MG / SA" in page
    assert (tmp_path / "dcdm.png").stat().st_size > 0


def test_a_capped_run_reports_no_total():
    A, b, _ = make_system("inclusions", (40, 40), seed=0)
    out = run_method("cg", A, b, (40, 40), cap_s=0.0, device=__import__("torch").device("cpu"))
    assert not out["reached"] and np.isnan(out["total_s"]) and out["final_rel_residual"] > 1e-6
