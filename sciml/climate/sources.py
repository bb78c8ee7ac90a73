"""Where an emulator's experiments come from: a ClimateBench folder, or the offline generator in memory.

The generator (:class:`~sciml.climate.generator.ClimateGenerator`) gives exact member means of any number of
members without writing them, so the internal-variability experiment (train on the mean of m members, score
against the mean of 3 or of 50) costs no disk. A folder gives the members its files hold.
"""
from __future__ import annotations

from pathlib import Path

import xarray as xr

from sciml.climate.generator import ClimateGenerator
from sciml.climate.io import TEST_EXPERIMENT, TRAIN_EXPERIMENTS, load_climatebench
from sciml.errors import ConfigError

GENERATED_MEMBERS = 50        # ensemble size of the generated experiments
GENERATED_TRUTHS = (3, 50)    # generated ssp245 truths: the ClimateBench protocol's 3-member mean, and 50


def _generator(seed: int):
    return ClimateGenerator(seed=seed, members=GENERATED_MEMBERS)


def training_experiments(data: str | Path | None, members: int | None,
                         seed: int = 0) -> dict[str, tuple[xr.Dataset, xr.Dataset]]:
    """``{exp: (inputs, outputs)}`` of the six training experiments: from the folder ``data`` (the first
    ``members`` members, None: all), or generated with ``seed`` (the exact mean of the first ``members``
    members, default 3; outputs without a member dim)."""
    if data is not None:
        return load_climatebench(data, TRAIN_EXPERIMENTS, members=members)
    gen = _generator(seed)
    if members is not None and not 1 <= members <= GENERATED_MEMBERS:
        raise ConfigError(f"members={members}: the generated ensemble has 1 to {GENERATED_MEMBERS} members")
    return {e: gen.member_mean(e, range(members or 3)) for e in TRAIN_EXPERIMENTS}


def evaluation_experiment(data: str | Path | None, seed: int = 0
                          ) -> tuple[xr.Dataset, xr.Dataset, dict[int, xr.Dataset]]:
    """``(historical inputs, ssp245 inputs, {n_members: truth})``: the folder's ssp245 outputs (all members,
    keyed by their count), or the generated 3- and 50-member means (seed ``seed``)."""
    if data is not None:
        d = load_climatebench(data, ["historical", TEST_EXPERIMENT])
        y = d[TEST_EXPERIMENT][1]
        return d["historical"][0], d[TEST_EXPERIMENT][0], {y.sizes["member"]: y}
    gen = _generator(seed)
    truths = {k: gen.member_mean(TEST_EXPERIMENT, range(k))[1] for k in GENERATED_TRUTHS}
    return gen.forced("historical")[0], gen.forced(TEST_EXPERIMENT)[0], truths
