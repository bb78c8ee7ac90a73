"""A merged benchmark page names the earlier commands whose rows it kept; a failed seed shows in its cell."""
import math

import pytest

from sciml.bench.results import BenchResult, earlier_rows


def test_merged_page_lists_earlier_commands_with_their_rows(tmp_path):
    old = BenchResult("toy", command="sciml bench toy --seeds 2")
    old.add("darcy", "mgno", "rel_l2", 0.1, seed=0)
    old.add("darcy", "fno", "rel_l2", 0.2, seed=0)
    new = BenchResult("toy", command="sciml bench toy --first-seed 2 --merge")
    new.rows += earlier_rows(old.to_dict(), redone=lambda r: r["method"] == "fno")
    new.add("darcy", "fno", "rel_l2", 0.3, seed=2)
    _, md = new.write(tmp_path, "body")
    text = md.read_text()
    assert "`sciml bench toy --seeds 2`" in text and "1 rows; tasks darcy; methods mgno" in text
    fresh = BenchResult("toy", command="sciml bench toy")
    fresh.add("darcy", "mgno", "rel_l2", 0.1)
    _, md2 = fresh.write(tmp_path / "b", "body")
    assert "merged from earlier" not in md2.read_text()


def test_rows_of_this_run_tagged_with_its_command_are_not_listed_as_earlier(tmp_path):
    """operators' flush tags this run's rows with the bare command while the page's command is 'old && new'."""
    res = BenchResult("toy", command="sciml bench toy && sciml bench toy --merge")
    res.rows.append({"task": "t", "method": "m", "metric": "x", "value": 1.0, "seed": 0,
                     "command": "sciml bench toy --merge"})
    _, md = res.write(tmp_path, "body")
    assert "merged from earlier" not in md.read_text()


def test_rerun_keeps_the_hand_written_notes_below_the_marker(tmp_path):
    from sciml.bench.results import HAND_WRITTEN

    first = BenchResult("toy", command="sciml bench toy")
    _, md = first.write(tmp_path, "table v1")
    md.write_text(md.read_text() + f"\n{HAND_WRITTEN}\n\nA note written by hand.\n")
    _, md = BenchResult("toy", command="sciml bench toy").write(tmp_path, "table v2")
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
