"""`sciml bench dcdm --merge`: rows of an earlier run that this run does not redo are kept, tagged."""
import json

from sciml.bench.dcdm import merge_rows
from sciml.bench.dcdm_report import cap_notes
from sciml.bench.results import BenchResult


def test_merge_keeps_other_rows_with_their_command(tmp_path):
    old = BenchResult("dcdm", command="sciml bench dcdm")
    for method in ("cg", "dcdm"):
        old.add("poisson3d_128_rtol1e-4", method, "iterations", 500 if method == "cg" else float("nan"))
    old.add("poisson3d_128_rtol1e-6", "cg", "iterations", float("nan"), maxiter=600, final_rel_residual=3.2e-5)
    old.write(tmp_path, "(no notes in the page: they are read off the rows)\n")
    new = BenchResult("dcdm", command="sciml bench dcdm --grids 128 --methods dcdm --merge")
    new.add("poisson3d_128_rtol1e-4", "dcdm", "iterations", 50)
    tasks = merge_rows(new, tmp_path / "dcdm.json", [("poisson3d_128", 128, False)])
    rows = {(r["task"], r["method"]): r for r in new.rows}
    assert rows[("poisson3d_128_rtol1e-4", "dcdm")]["value"] == 50 and "command" not in rows[("poisson3d_128_rtol1e-4", "dcdm")]
    assert rows[("poisson3d_128_rtol1e-4", "cg")]["command"] == "sciml bench dcdm"
    assert tasks == [("poisson3d_128", 128, False)] and len(new.rows) == 3
    assert rows[("poisson3d_128_rtol1e-4", "cg")]["created"] == json.loads((tmp_path / "dcdm.json").read_text())["created"]
    notes = cap_notes(new.rows)  # dcdm's 1e-4 row was redone (reached), cg's 1e-6 row is kept with its cap
    assert len(notes) == 1, notes
    assert notes[0].startswith("poisson3d_128: cg did not reach rtol 1e-6 within its cap of 600 iterations (final 3.20e-05)")
    assert "kept from `sciml bench dcdm`" in notes[0]


def test_cap_notes_for_this_runs_rows():
    res = BenchResult("dcdm", command="x")
    res.add("unseen_obstacles_64_rtol1e-6", "dcdm", "iterations", float("nan"), maxiter=100, final_rel_residual=2.8e-6)
    res.add("unseen_obstacles_64_rtol1e-6", "dcdm", "wall_s", float("nan"))
    res.add("unseen_obstacles_64_rtol1e-4", "dcdm", "iterations", 40)
    row = json_roundtrip(res)["rows"][0]
    assert row["value"] is None and row["maxiter"] == 100
    assert cap_notes(res.rows) == ["unseen_obstacles_64: dcdm did not reach rtol 1e-6 within its cap of 100 iterations "
                                   "(final 2.80e-06); iterations/wall_s are null"]


def json_roundtrip(res):
    return json.loads(json.dumps(res.to_dict()))
