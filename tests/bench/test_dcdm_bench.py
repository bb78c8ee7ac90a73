"""`sciml bench dcdm --quick`: every method runs, converges on the easy grids, and the page has the ratios."""
import json

import numpy as np
import pytest
import torch

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


def _scipy_iterations(A, b, M=None) -> int:
    import scipy.sparse.linalg as spla

    count = [0]
    x, info = spla.cg(A, b, rtol=1e-6, atol=0.0, M=M, maxiter=10000, callback=lambda _x: count.__setitem__(0, count[0] + 1))
    assert info == 0
    return count[0]


@pytest.mark.parametrize("family, shape", [("obstacles", (40, 36)), ("obstacles_dirichlet", (16, 14, 12))])
def test_device_cg_rows_match_scipy_iterations(family, shape):
    """The torch-loop CG and Jacobi-PCG rows (the device rows, here on the CPU) need the iterations scipy's CG does."""
    import scipy.sparse as sp

    A, b, _ = make_system(family, shape, seed=0)
    cg = run_method("cg", A, b, shape, cap_s=60.0, device=torch.device("cpu"), torch_loop=True)
    jac = run_method("jacobi_pcg", A, b, shape, cap_s=60.0, device=torch.device("cpu"), torch_loop=True)
    assert cg["reached"] and jac["reached"]
    assert abs(cg["iterations"] - _scipy_iterations(A, b)) <= 2
    assert abs(jac["iterations"] - _scipy_iterations(A, b, sp.diags(1.0 / A.diagonal()))) <= 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_cg_row_matches_the_cpu_row():
    shape = (16, 14, 12)
    A, b, _ = make_system("obstacles", shape, seed=0)
    cpu = run_method("cg", A, b, shape, cap_s=60.0, device=torch.device("cpu"))
    gpu = run_method("cg", A, b, shape, cap_s=60.0, device=torch.device("cuda"))
    assert gpu["reached"] and abs(gpu["iterations"] - cpu["iterations"]) <= 2 and gpu["peak_gpu_mem_mb"] > 0


def test_gpu_preset_without_cuda_is_a_one_line_user_error(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as e:
        main(["--preset", "gpu", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and err.startswith("sciml: error:") and "--device cpu" in err
    assert not list(tmp_path.iterdir())


def test_gpu_preset_deadline_skips_later_grids_and_keeps_what_finished(monkeypatch, tmp_path):
    """A fake clock that advances 100 s per system built (the warm-up's too): with a 250 s deadline the
    first grid runs, the second is built but its rows are skipped, the third is not built; the page lists
    the skipped ones."""
    import time
    from types import SimpleNamespace

    from sciml.bench import dcdm_gpu

    now = [0.0]
    monkeypatch.setattr(dcdm_gpu, "time", SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter))
    real_make = dcdm_gpu.make_system

    def make(*args, **kw):
        now[0] += 100.0
        return real_make(*args, **kw)

    monkeypatch.setattr(dcdm_gpu, "make_system", make)
    main(["--preset", "gpu", "--device", "cpu", "--grids", "12x10x8", "16x16", "20x20", "--families", "constant",
          "--methods", "cg", "mg_pcg", "--repeats", "1", "--deadline-s", "250", "--threads", "1", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "dcdm_gpu.json").read_text())
    assert {(r["task"], r["method"]) for r in data["rows"]} == {("constant_12x10x8", "cg"), ("constant_12x10x8", "mg_pcg")}
    assert data["meta"]["skipped"] == ["constant_16x16 cg (deadline)", "constant_16x16 mg_pcg (deadline)",
                                       "constant_20x20: all rows (deadline)"]
    page = (tmp_path / "dcdm_gpu.md").read_text()
    assert "- constant_20x20: all rows (deadline)" in page and "| constant | cg |" in page


def test_goal_table_reads_the_speedups_from_the_rows():
    from sciml.bench.dcdm_gpu import goal_lines
    from sciml.bench.results import BenchResult

    res = BenchResult("dcdm_gpu", command="test")
    for method, total, solve in (("cg_cuda", 2.0, 1.9), ("mg_learned_cuda", 0.25, 0.1), ("mg_pcg_cuda", 0.5, 0.4)):
        for fam, scale in (("constant", 1.0), ("inclusions", 4.0)):
            for metric, v in (("total_s", total * (scale if method == "cg_cuda" else 1.0)), ("solve_s", solve)):
                res.add(f"{fam}_128x128x128", method, metric, v, family=fam, grid=[128, 128, 128])
    lines = goal_lines(res.rows, torch.device("cuda"))
    assert "| constant | 2 | 0.25 | 0.5 | 8 | 4 | 19 | yes |" in lines
    assert "| inclusions | 8 | 0.25 | 0.5 | 32 | 16 | 19 | yes |" in lines
