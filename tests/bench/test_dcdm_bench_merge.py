"""`sciml bench dcdm --merge`: rows of an earlier run that this run does not redo are kept, tagged."""
import json

from sciml.bench.dcdm import kept_notes, merge_rows
from sciml.bench.results import BenchResult


def test_merge_keeps_other_rows_with_their_command(tmp_path):
    old = BenchResult("dcdm", command="sciml bench dcdm")
    for method in ("cg", "dcdm"):
        old.add("poisson3d_128_rtol1e-4", method, "iterations", 500 if method == "cg" else float("nan"))
    old.write(tmp_path, "### Caps and failures\n\n- poisson3d_128: dcdm did not reach rtol 0.0001 within its cap\n"
                        "- poisson3d_128: cg did not reach rtol 1e-06 within its cap\n")
    new = BenchResult("dcdm", command="sciml bench dcdm --grids 128 --methods dcdm --merge")
    new.add("poisson3d_128_rtol1e-4", "dcdm", "iterations", 50)
    tasks, kept = merge_rows(new, tmp_path / "dcdm.json", [("poisson3d_128", 128, False)])
    rows = {(r["task"], r["method"]): r for r in new.rows}
    assert rows[("poisson3d_128_rtol1e-4", "dcdm")]["value"] == 50 and "command" not in rows[("poisson3d_128_rtol1e-4", "dcdm")]
    assert rows[("poisson3d_128_rtol1e-4", "cg")]["command"] == "sciml bench dcdm" and len(new.rows) == 2
    assert tasks == [("poisson3d_128", 128, False)] and kept == [f"`sciml bench dcdm` ({json.loads((tmp_path / 'dcdm.json').read_text())['created']})"]
    notes = kept_notes(tmp_path / "dcdm.md", {("poisson3d_128", "dcdm")})
    assert len(notes) == 1 and notes[0].startswith("poisson3d_128: cg") and notes[0].endswith("(earlier run)")
