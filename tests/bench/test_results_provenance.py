"""A rerun keeps the page's hand-written notes; a failed seed shows in its cell."""
import math

import pytest

from sciml.bench.results import HAND_WRITTEN, BenchResult


def test_rerun_keeps_the_hand_written_notes_below_the_marker(tmp_path):
    first = BenchResult("toy", command="sciml bench toy")
    md = first.write_page(tmp_path, "table v1")
    md.write_text(md.read_text() + f"\n{HAND_WRITTEN}\n\nA note written by hand.\n")
    md = BenchResult("toy", command="sciml bench toy").write_page(tmp_path, "table v2")
    text = md.read_text()
    assert "table v2" in text and "table v1" not in text
    assert text.count(HAND_WRITTEN) == 1 and text.rstrip().endswith("A note written by hand.")


def test_a_seed_with_a_non_finite_score_makes_its_cell_nan_not_a_smaller_mean():
    res = BenchResult("toy", command="sciml bench toy")
    res.add("task", "m", "rel_l2", 0.1, seed=0)
    res.add("task", "m", "rel_l2", float("nan"), seed=1)  # a diverged seed
    res.add("task", "ok", "rel_l2", 0.1, seed=0)
    res.add("task", "ok", "rel_l2", 0.3, seed=1)
    summ = res.summary()
    mean, std, n = summ[("task", "m", "rel_l2")]
    assert math.isnan(mean) and math.isnan(std) and n == 2
    assert summ[("task", "ok", "rel_l2")] == (pytest.approx(0.2), pytest.approx(0.1), 2)
    assert "nan" in res.markdown_table("task", ["rel_l2"]).split("| m |")[1].split("\n")[0]
