"""Published ClimateBench scores, and the score table in the ClimateBench paper's layout.

The numbers are NorESM2-LM ssp245, 2080-2100, against the mean of its 3 members, latitude-weighted
NRMSE as :mod:`sciml.climate.metrics` defines them (total = spatial + 5 x global). Sources:

- CNN-LSTM, Gaussian process, random forest: Watson-Parris et al. (2022), "ClimateBench v1.0: A benchmark
  for data-driven climate projections", JAMES 14, e2021MS002954, Table 2 (github.com/duncanwp/ClimateBench).
- LPS (linear pattern scaling), tas only: Lütjens et al. (2024), "The impact of internal variability on
  benchmarking deep learning climate emulators" (github.com/blutjens/climate-emulator); DTR, pr and pr90
  are not published there and are shown as missing.

They are only comparable with scores on the real ClimateBench files (Zenodo 10.5281/zenodo.5196512); on
generated data (``sciml.climate.generator``) they are a scale reference, not a baseline.
"""
from __future__ import annotations

import math
from typing import Mapping

VARIABLES = ("tas", "dtr", "pr", "pr90")  # dtr = diurnal_temperature_range, as in score_table's keys
PAPER_NAMES = {"tas": "tas", "dtr": "diurnal_temperature_range", "pr": "pr", "pr90": "pr90"}
KINDS = ("spatial", "global", "total")


def _row(*triples: tuple[float, float, float] | None) -> dict[str, float]:
    """``{f"{var}_{kind}_nrmse": value}`` from one (spatial, global, total) triple per variable (None: not published)."""
    out = {}
    for var, triple in zip(VARIABLES, triples):
        for kind, value in zip(KINDS, triple or (math.nan,) * 3):
            out[f"{var}_{kind}_nrmse"] = value
    return out


PUBLISHED_SCORES: dict[str, dict[str, float]] = {
    "CNN-LSTM (Watson-Parris et al. 2022)": _row((0.107, 0.044, 0.327), (9.917, 1.372, 16.778),
                                                 (2.128, 0.209, 3.175), (2.610, 0.346, 4.339)),
    "Gaussian process (Watson-Parris et al. 2022)": _row((0.109, 0.074, 0.478), (9.207, 2.675, 22.582),
                                                         (2.341, 0.341, 4.048), (2.556, 0.429, 4.702)),
    "Random forest (Watson-Parris et al. 2022)": _row((0.108, 0.058, 0.400), (9.195, 2.652, 22.457),
                                                      (2.524, 0.502, 5.035), (2.682, 0.543, 5.399)),
    "LPS (Lütjens et al. 2024)": _row((0.0786, 0.0410, 0.2836), None, None, None),
}


def paper_table(scores: Mapping[str, Mapping[str, float]], published: bool = True) -> str:
    """Plain-text table in the layout of the ClimateBench paper's Table 2: one row per model, for each
    of tas, diurnal_temperature_range, pr, pr90 the spatial, global and total NRMSE.

    ``scores``: ``{model: score_table(...)}``; ``published`` appends :data:`PUBLISHED_SCORES` below a rule.
    A NaN score prints as ``nan``; a score that was not published prints as ``-``.
    """
    rows = [(name, s, "nan") for name, s in scores.items()]
    if published:
        rows += [(name, s, "-") for name, s in PUBLISHED_SCORES.items()]
    width = max([len("model"), *(len(r[0]) for r in rows)])
    group = " " * width + "".join(f" | {PAPER_NAMES[v]:^26.26}" for v in VARIABLES)
    head = f"{'model':<{width}}" + " | Spatial   Global    Total " * len(VARIABLES)
    lines = [group, head, "-" * len(head)]
    for i, (name, s, missing) in enumerate(rows):
        if i == len(scores) and published:
            lines.append("-" * len(head))
        cells = [" ".join(_cell(s.get(f"{v}_{k}_nrmse", math.nan), missing) for k in KINDS) for v in VARIABLES]
        lines.append(f"{name:<{width}}" + "".join(f" | {c}" for c in cells))
    return "\n".join(lines)


def _cell(value: float, missing: str) -> str:
    return f"{missing:>8}" if math.isnan(value) else f"{value:8.3f}"
