"""Generate a small ClimateBench-format dataset, fit LPS, score it, and evaluate the checkpoint.

Run: PYTHONPATH=. python examples/climate_emulators.py  (about a minute on a laptop CPU)
"""
import tempfile
from pathlib import Path

import numpy as np
import torch

from sciml.climate import generate_climatebench, load_climatebench, score_table
from sciml.climate.emulators import output_array
from sciml.climate.io import TRAIN_EXPERIMENTS
from sciml.experiment import evaluate_checkpoint
from sciml.models import build_model
from sciml.train.checkpoint import save_checkpoint

out = Path(tempfile.mkdtemp())
generate_climatebench(out, members=3, experiments=(*TRAIN_EXPERIMENTS, "ssp245"))   # real file schema
data = load_climatebench(out, TRAIN_EXPERIMENTS)
co2 = torch.tensor(np.concatenate([x.CO2.values for x, _ in data.values()]))
y = torch.from_numpy(np.concatenate([output_array(y) for _, y in data.values()]))
lps = build_model("lps").fit(co2, y, torch.tensor(data["historical"][0].latitude.values))
save_checkpoint(out / "lps.pt", lps, extra={"recipe": "climate_emulator"})
scores = evaluate_checkpoint(out / "lps.pt", out, out / "eval")          # same as `sciml evaluate`
print({k: round(v, 3) for k, v in scores.attrs.items() if k.endswith("total_nrmse")})
