"""`sciml bench medida --smoke`: the whole pipeline runs and its full-observation rows are exact."""
import json


def test_smoke_run_recovers_every_injected_error_from_full_observations(tmp_path, monkeypatch):
    from sciml.bench.medida import ERRORS, main

    monkeypatch.setenv("SCIML_CACHE", str(tmp_path / "cache"))
    assert main(["--smoke", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "medida.json").read_text())["rows"]
    full = {(r["task"], r["metric"]): r["value"] for r in rows if r["task"].startswith("full_")}
    for err in ERRORS:
        assert full[(f"full_{err}", "correct_terms")] == 1
        assert full[(f"full_{err}", "coef_rel_err")] < 1e-6
    tasks = {r["task"].split("_")[0] for r in rows}
    assert {"full", "noisy", "sparse50", "sparse25"} <= tasks
    page = (tmp_path / "medida.md").read_text()
    for section in ("## Summary", "## All tasks", "## Wall time per stage (s)", "## Reading the results"):
        assert section in page
