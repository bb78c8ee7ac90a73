"""sciml.linalg.measure and the linear_solver recipe: one named solve, measured honestly, against scipy's counts."""
import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec, run_experiment
from sciml.linalg.families import make_system, shipped_family_system
from sciml.linalg.measure import PeakRSS, measure_repeated, measure_solve
from sciml.linalg.recipe import evaluate_linear_solver

CPU = torch.device("cpu")


def scipy_iterations(A, b, M=None) -> int:
    count = [0]
    _, info = spla.cg(A, b, rtol=1e-6, atol=0.0, M=M, maxiter=10000,
                      callback=lambda _x: count.__setitem__(0, count[0] + 1))
    assert info == 0
    return count[0]


def test_a_capped_run_reports_no_iterations_and_no_total():
    A, b, _ = make_system("inclusions", (40, 40), seed=0)
    out = measure_solve("cg", A, b, (40, 40), cap_s=0.0)
    assert out["reached"] == 0 and np.isnan(out["iterations"]) and np.isnan(out["total_s"])
    assert out["final_rel_residual"] > 1e-6 and out["solve_s"] > 0


@pytest.mark.parametrize("family, shape", [("obstacles", (40, 36)), ("obstacles_dirichlet", (16, 14, 12))])
def test_cg_and_jacobi_rows_need_scipys_iterations_on_both_paths(family, shape):
    """The scipy rows and the torch-loop rows (the device rows, here on the CPU) count what scipy's CG does."""
    A, b, _ = make_system(family, shape, seed=0)
    truth = {"cg": scipy_iterations(A, b), "jacobi_pcg": scipy_iterations(A, b, sp.diags(1.0 / A.diagonal()))}
    for method, n in truth.items():
        for torch_loop in (False, True):
            out = measure_solve(method, A, b, shape, cap_s=60.0, torch_loop=torch_loop)
            assert out["reached"] == 1 and abs(out["iterations"] - n) <= 2, (method, torch_loop, out, n)
            assert out["final_rel_residual"] <= 1e-6 and out["total_s"] == out["setup_s"] + out["solve_s"]


@pytest.mark.parametrize("method", ["ic0_pcg", "amg_sa", "amg_rs", "mg_pcg", "mg_learned", "dcdm_cnn"])
def test_every_method_converges_on_a_small_obstacle_grid(method):
    shape = (12, 10, 8)
    A, b, _ = make_system("obstacles", shape, seed=0)
    out = measure_solve(method, A, b, shape, cap_s=60.0)
    assert out["reached"] == 1 and 1 <= out["iterations"] < scipy_iterations(A, b)
    assert out["final_rel_residual"] <= 1e-6 and out["setup_s"] >= 0 and out["peak_mem_mb"] >= 0


def test_repeats_take_the_median_and_stop_after_a_slow_or_failed_first_run():
    A, b, _ = make_system("constant", (24, 24), seed=0)
    med, runs = measure_repeated("mg_pcg", A, b, (24, 24), repeats=3)
    assert len(runs) == 3 and med["repeats"] == 3
    assert med["solve_s"] == sorted(r["solve_s"] for r in runs)[1] and med["iterations"] == runs[0]["iterations"]
    assert len(measure_repeated("mg_pcg", A, b, (24, 24), repeats=3, repeat_below_s=0.0)[1]) == 1
    assert len(measure_repeated("cg", A, b, (24, 24), repeats=3, cap_s=0.0)[1]) == 1
    with pytest.raises(ConfigError, match="repeats"):
        measure_repeated("cg", A, b, (24, 24), repeats=0)


def test_methods_are_checked():
    A, b, _ = make_system("constant", (8, 8), seed=0)
    with pytest.raises(ConfigError, match="method must be one of"):
        measure_solve("gmres", A, b, (8, 8))
    with pytest.raises(ConfigError, match="scipy/pyamg only"):
        measure_solve("amg_sa", A, b, (8, 8), torch_loop=True)


def test_peak_rss_sees_an_allocation_above_the_entry_level():
    with PeakRSS() as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block += 1.0
    assert 48 <= mem.peak_mb < 1024
    del block


def test_the_recipe_writes_its_measurement_and_the_evaluator_scores_it(tmp_path):
    threads = torch.get_num_threads()
    spec = ExperimentSpec(recipe="linear_solver", name="t", out_dir=str(tmp_path / "run"), seed=0, device="cpu",
                          params={"family": "obstacles", "grid": [20, 18], "method": "cg", "threads": 1})
    res = run_experiment(spec)
    assert torch.get_num_threads() == threads          # the measured thread count does not leak out
    m = json.loads((tmp_path / "run" / "measurement.json").read_text())
    A, b, _ = make_system("obstacles", (20, 18), seed=0)
    assert res["scores"]["iterations"] == m["median"]["iterations"] and abs(m["median"]["iterations"]
                                                                            - scipy_iterations(A, b)) <= 2
    assert m["threads"] == 1 and m["n_cells"] == 360 and res["scores"]["measured_unix_s"] == m["measured_unix_s"]
    with pytest.raises(ConfigError, match="no data file"):
        evaluate_linear_solver(tmp_path / "run" / "measurement.json", tmp_path, tmp_path)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a linear_solver measurement"):
        evaluate_linear_solver(tmp_path / "other.json", None, tmp_path)


def test_a_capped_recipe_run_scores_nan_not_a_number_it_did_not_reach(tmp_path):
    spec = ExperimentSpec(recipe="linear_solver", name="t", out_dir=str(tmp_path), device="cpu",
                          params={"family": "inclusions", "grid": [40, 40], "method": "cg", "cap_s": 0.0})
    scores = run_experiment(spec)["scores"]
    assert np.isnan(scores["iterations"]) and np.isnan(scores["total_s"]) and scores["reached"] == 0


@pytest.mark.parametrize("params, message", [({"family": "sand"}, "family must be one of"),
                                             ({"grid": [8]}, "2 or 3 sides"), ({"threads": 0}, "threads"),
                                             ({"rtol": -1.0}, "rtol must be")])
def test_recipe_parameters_are_checked(params, message, tmp_path):
    spec = ExperimentSpec(recipe="linear_solver", name="t", out_dir=str(tmp_path), device="cpu", params=params)
    with pytest.raises(ConfigError, match=message):
        run_experiment(spec)


def test_the_shipped_family_and_its_unseen_shapes_are_distinct_and_seeded():
    A, b, solid = shipped_family_system(16, 0)
    A2, b2, solid2 = shipped_family_system(16, 0)
    _, _, unseen = shipped_family_system(16, 0, unseen=True)
    assert (solid == solid2).all() and np.array_equal(b, b2) and (A != A2).nnz == 0
    assert solid.shape == unseen.shape == (16, 16, 16) and (solid != unseen).any()
    assert A.shape == (16**3, 16**3) and abs(np.linalg.norm(b) - 1) < 1e-12 and not b[solid.ravel()].any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_cg_row_matches_the_cpu_row():
    shape = (16, 14, 12)
    A, b, _ = make_system("obstacles", shape, seed=0)
    cpu = measure_solve("cg", A, b, shape, cap_s=60.0, device=CPU)
    gpu = measure_solve("cg", A, b, shape, cap_s=60.0, device="cuda")
    assert gpu["reached"] and abs(gpu["iterations"] - cpu["iterations"]) <= 2 and gpu["peak_gpu_mem_mb"] > 0


def test_resident_memory_counts_pages_of_the_systems_size(monkeypatch):
    """statm counts pages; a fixed 4 KiB under-reports 16x on a 64 KiB-page machine."""
    import os

    from sciml.linalg import measure

    four_kib = measure.PeakRSS.rss_mb()
    real_sysconf = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 65536 if name == "SC_PAGE_SIZE" else real_sysconf(name))
    assert measure.PeakRSS.rss_mb() == pytest.approx(16 * four_kib, rel=0.05)

