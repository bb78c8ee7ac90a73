"""Generate a small ClimateBench-format dataset, fit linear pattern scaling (LPS), predict ssp245 and score
the prediction in the ClimateBench paper's table, beside the published baselines.

Run: PYTHONPATH=. python examples/climate_emulators.py [OUT_DIR]
Without OUT_DIR the data (one member per experiment, about 215 MB) go to a temporary folder that is removed
at the end; with OUT_DIR the data, checkpoint and prediction are kept there. The same from the command line:
``sciml climate fit --model lps --data DIR --out RUN`` and ``sciml climate score RUN --data DIR``.
"""
import sys
import tempfile
from pathlib import Path

import torch

from sciml.climate import generate_climatebench, load_climatebench
from sciml.climate.baselines import paper_table
from sciml.climate.emulators import fit_pattern_scaling
from sciml.climate.io import TEST_EXPERIMENT, TRAIN_EXPERIMENTS, load_inputs
from sciml.climate.prediction import score_prediction, write_scenario_prediction
from sciml.train.checkpoint import save_checkpoint


def main(out: Path) -> None:
    data_dir = out / "data"
    generate_climatebench(data_dir, members=1, experiments=(*TRAIN_EXPERIMENTS, TEST_EXPERIMENT))  # real schema
    lps = fit_pattern_scaling(load_climatebench(data_dir, TRAIN_EXPERIMENTS))     # closed form, seconds
    co2 = torch.tensor(load_inputs(data_dir, TEST_EXPERIMENT).CO2.values)          # (86,) GtCO2, 2015-2100
    maps = lps.predict(co2)                                                        # (86, 4, 96, 144)
    print(f"LPS global tas 2100: {float(lps.global_tas(co2[-1:])):.2f} K; maps {tuple(maps.shape)}")
    ckpt = save_checkpoint(out / "lps.pt", lps, extra={"recipe": "climate_emulator", "data_path": str(data_dir)})
    pred = write_scenario_prediction(ckpt, data_dir, out / "prediction_ssp245.nc")  # outputs schema
    scores, _, _ = score_prediction(pred, data_dir)
    print(paper_table({"lps (generated data)": scores}))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory(prefix="sciml-climate-") as tmp:  # removed on exit, also on error
            main(Path(tmp))
