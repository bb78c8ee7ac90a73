"""Progress reports: bars on a terminal, periodic single lines in logs, silence with --quiet."""
from __future__ import annotations

import io

import pytest
from tqdm.auto import tqdm

from sciml.cli import main
from sciml.utils import progress as P


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _loud(monkeypatch):
    monkeypatch.delenv("SCIML_QUIET", raising=False)
    P.set_quiet(False)
    yield
    P.set_quiet(False)


def test_off_a_terminal_the_outer_level_prints_one_line_at_the_end():
    log = io.StringIO()
    assert list(P.progress(range(5), desc="solve", unit="step", stream=log)) == [0, 1, 2, 3, 4]
    assert log.getvalue().splitlines() == ["solve: 5/5 step (0 s)"]


def test_off_a_terminal_lines_are_periodic_and_carry_the_postfix():
    log = io.StringIO()
    bar = P.LineProgress(total=3, desc="train", unit="epoch", stream=log, interval_s=0.0)
    for epoch in range(3):
        bar.update(1)
        bar.set_postfix(loss=f"{1.0 / (epoch + 1):.3g}")
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines == ["train: 1/3 epoch (0 s)", "train: 2/3 epoch (0 s) loss=1", "train: 3/3 epoch (0 s) loss=0.5"]


def test_off_a_terminal_nested_levels_are_silent():
    log = io.StringIO()
    assert list(P.progress(range(3), level=1, stream=log)) == [0, 1, 2]
    assert log.getvalue() == ""


def test_a_terminal_gets_a_tqdm_bar_per_level():
    term = Terminal()
    outer, inner = P.progress(total=2, stream=term), P.progress(range(2), level=1, stream=term)
    assert isinstance(outer, tqdm) and isinstance(inner, tqdm)
    assert outer.leave and not inner.leave  # the nested bar is cleared when done
    list(inner)
    outer.close()
    assert "2/2" in term.getvalue() or "0/2" in term.getvalue()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_quiet_silences_every_level(how, monkeypatch):
    if how == "flag":
        P.set_quiet(True)
    else:
        monkeypatch.setenv("SCIML_QUIET", "1")
    log, term = io.StringIO(), Terminal()
    list(P.progress(range(3), stream=log))
    list(P.progress(range(3), stream=term))
    assert log.getvalue() == term.getvalue() == ""


def test_the_cli_reports_generation_in_lines_and_is_silent_with_quiet(tmp_path, capsys):
    assert main(["data", "make", "darcy", "--out", str(tmp_path / "a.nc"), "--n", "50", "--res", "8"]) == 0
    err = capsys.readouterr().err
    assert "darcy: 50/50 sample" in err and "\r" not in err  # a log gets plain lines, not bar redraws
    assert main(["--quiet", "data", "make", "darcy", "--out", str(tmp_path / "b.nc"), "--n", "50", "--res", "8"]) == 0
    assert "darcy" not in capsys.readouterr().err
