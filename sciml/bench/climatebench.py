"""``sciml bench climatebench``: LPS vs CNN-LSTM vs Prithvi-style emulator, and the internal-variability experiment.

Tasks ``m{1,3,10,50}_eval{3,50}``: trained on the mean of m members per training experiment,
scored on ssp245 2080-2100 against the mean of 3 or 50 test members. ``--data DIR`` scores on
real ClimateBench files instead (truth = all test members). Every (m, method, seed) is one run of the
``climate_emulator`` recipe (:mod:`sciml.climate.recipes`); this module declares the sweep and the page.
The cpu preset is sized for a shared 2-core CPU (inputs pooled 4x for the CNN-LSTM, every 2nd training
year, few epochs, a reduced Prithvi); the gpu preset is the paper-scale one.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sciml.bench.results import BenchResult
from sciml.bench.runner import Benchmark, Row, register_benchmark
from sciml.climate.baselines import VARIABLES
from sciml.climate.recipes import training_settings
from sciml.experiment import ExperimentSpec

METHODS = ("lps", "cnn-lstm", "prithvi")
MEMBERS = (1, 3, 10, 50)

# what each preset sets in the climate_emulator recipe, per method (lps has nothing to train); the cpu preset
# measures the recipe's defaults (sciml.climate.recipes.TRAINING_DEFAULTS)
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"device": "cpu", "lps": {}, "cnn-lstm": {}, "prithvi": {}},  # the recipe's defaults
    "gpu": {"device": "auto", "lps": {}, "cnn-lstm": dict(epochs=30, lr=1e-3, stride=1, config={"input_pool": 1}),
            "prithvi": dict(pretrain_epochs=20, pretrain_lr=1e-3, epochs=40, lr=5e-4, stride=1,
                            config=dict(patch=4, window=[4, 6], embed=128, heads=4, encoder_pairs=2, decoder_pairs=1))},
    "smoke": {"device": "cpu", "lps": {}, "cnn-lstm": dict(epochs=1, lr=3e-3, stride=20, config={"input_pool": 1}),
              "prithvi": dict(pretrain_epochs=1, pretrain_lr=1e-3, epochs=1, lr=5e-4, stride=20,
                              config=dict(patch=8, window=[3, 3], embed=16, heads=2, encoder_pairs=1,
                                          decoder_pairs=1))},
}
MODEL = {"lps": "lps", "cnn-lstm": "cnn_lstm", "prithvi": "prithvi"}  # page name -> registered model


def preset_settings(preset: str) -> dict[str, dict[str, Any]]:
    """The training settings each method runs with under ``preset``: the recipe's defaults and what the preset
    sets on top of them."""
    return {method: {} if method == "lps" else training_settings(MODEL[method], **PRESETS[preset][method])
            for method in METHODS}


def run_name(members: int, method: str, seed: int) -> str:
    """The folder (under ``--runs``) and spec name of one row."""
    return f"m{members}-{method}-s{seed}"


def sweep(preset: str, args: argparse.Namespace) -> list[Row]:
    """One ``climate_emulator`` run per (training members m, method, seed)."""
    p = PRESETS[preset]
    rows = []
    for m in args.members or (MEMBERS if args.data is None else (3,)):
        for method in args.methods:
            for seed in args.seeds:
                name = run_name(m, method, seed)
                params = {"data": None if args.data is None else str(Path(args.data).resolve()),
                          "model": MODEL[method], "members": m, **p[method]}
                spec = ExperimentSpec(recipe="climate_emulator", name=name, out_dir=str(args.runs / name),
                                      seed=seed, device=p["device"], params=params)
                rows.append(Row(f"m{m}", method, spec, labels={"members": m}))
    return rows


def cell_scores(res: BenchResult) -> dict[str, dict[str, dict[str, float]]]:
    """``{"m{m}_eval{k}": {method: {metric: seed mean}}}`` from the rows: a run's plain metrics are against the
    truth of ``truth_members`` members, its ``*_eval{k}`` metrics against the k-member truth."""
    summ = res.summary()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for (task, method, metric), (mean, _, _) in summ.items():
        base, _, k = metric.rpartition("_eval")
        if not (base and k.isdigit()):
            primary = summ.get((task, method, "truth_members"))
            if primary is None or metric in ("truth_members", "wall_s"):
                continue
            base, k = metric, str(int(primary[0]))
        out.setdefault(f"{task}_eval{k}", {}).setdefault(method, {})[base] = mean
    return dict(sorted(out.items(), key=lambda kv: tuple(int(x) for x in kv[0][1:].split("_eval"))))


def report(res: BenchResult, args: argparse.Namespace) -> str:
    """The page: a score table per (m, truth), the error against m, the pr maps and the checks."""
    from sciml.climate.metrics import format_score_table

    scores = cell_scores(res)
    wall = sum(v[0] for k, v in res.summary().items() if k[2] == "wall_s")
    lines = ["Data: " + (f"real ClimateBench files in `{args.data}`" if args.data else
                         "the offline generator (`sciml.climate.generator`, see docs/climate.md), seed = run seed"),
             f"Preset: {args.preset} (climate_emulator settings per method: `{preset_settings(args.preset)}`); "
             f"wall time {wall:.0f} s (sum over runs).", "",
             "Every row is one `climate_emulator` run (`sciml bench climatebench --dry-run` prints its spec), scored "
             "on its `best.pt` (the epoch of lowest training loss) as `sciml evaluate` scores it.", "",
             "Cells: spatial / global / total NRMSE, ssp245 2080-2100.", ""]
    for task, table in scores.items():
        lines += [f"## {task}", "", format_score_table({m: table[m] for m in METHODS if m in table}), ""]
    lines += _rmse_table(scores)
    fig = _figure(scores, args)
    if fig:
        lines += ["", f"![pr maps: truth, prediction, error]({fig})"]
    lines += ["", "## Checks (computed from the rows above)", "", *_checks(scores)]
    return "\n".join(lines)


def _members(scores) -> list[int]:
    return sorted({int(t.split("_")[0][1:]) for t in scores})


def _rmse_table(scores) -> list[str]:
    ms, evals = _members(scores), sorted({t.split("_")[1] for t in scores}, key=lambda e: int(e[4:]))
    lines = ["## Error against training members (spatial RMSE of the 2080-2100 mean)", "",
             "| method | eval | " + " | ".join(f"m={m}" for m in ms) + " |", "|---|---|" + "---|" * len(ms)]
    for metric, var, unit in (("tas_spatial_rmse_k", "tas", "K"), ("pr_spatial_rmse_mm_day", "pr", "mm/day")):
        for ev in evals:
            for meth in METHODS:
                cells = [f"{scores[f'm{m}_{ev}'][meth][metric]:.4f}" if meth in scores.get(f"m{m}_{ev}", {}) else "—"
                         for m in ms]
                lines.append(f"| {meth} {var} [{unit}] | {ev} | " + " | ".join(cells) + " |")
    return lines


def _checks(scores) -> list[str]:
    """The page's claims, evaluated on this run's numbers (not asserted)."""
    def v(task, meth, metric):
        return scores.get(task, {}).get(meth, {}).get(metric, float("nan"))

    ms = _members(scores)
    ev = "eval50" if any(t.endswith("eval50") for t in scores) else sorted({t.split("_")[1] for t in scores})[0]
    out = []
    if 3 in ms:
        for var in VARIABLES:
            lps, best = v(f"m3_{ev}", "lps", f"{var}_total_nrmse"), min(
                v(f"m3_{ev}", m, f"{var}_total_nrmse") for m in ("cnn-lstm", "prithvi"))
            out.append(f"- m=3, {var}: LPS total {lps:.3f} vs best deep {best:.3f} -> "
                       f"{'LPS level or better' if lps <= 1.02 * best else 'deep model better'}")
    m = max(ms)
    for var in ("pr", "pr90"):
        p, c, lps = (v(f"m{m}_{ev}", k, f"{var}_total_nrmse") for k in ("prithvi", "cnn-lstm", "lps"))
        out.append(f"- m={m}, {var}: prithvi {p:.3f}, cnn-lstm {c:.3f}, lps {lps:.3f} -> prithvi "
                   f"{'beats' if p < c else 'does not beat'} cnn-lstm, {'beats' if p < lps else 'does not beat'} LPS")
    for meth in METHODS:
        r = [v(f"m{k}_{ev}", meth, "pr_spatial_rmse_mm_day") for k in ms]
        out.append(f"- {meth} pr spatial RMSE vs m ({ev}): " + ", ".join(f"{x:.4f}" for x in r))
    return out


def _figure(scores, args) -> str | None:
    """pr 2080-2100 maps of the largest m's runs (first seed): truth, prediction, error; drawn once all exist."""
    m, seed = max(_members(scores)), args.seeds[0]
    paths = {meth: args.runs / run_name(m, meth, seed) / "prediction_ssp245.nc" for meth in args.methods}
    if not paths or not all(p.is_file() for p in paths.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sciml.climate.emulators import EVAL_YEARS
    from sciml.climate.prediction import load_prediction
    from sciml.climate.sources import evaluation_experiment
    from sciml.utils.files import save_figure

    truths = evaluation_experiment(args.data, seed)[2]
    truth = truths[max(truths)].pr.sel(time=EVAL_YEARS)  # the truth of most members: the least noisy
    truth = (truth.mean("member") if "member" in truth.dims else truth).mean("time") * 86400
    fig, axes = plt.subplots(len(paths), 3, figsize=(13, 2.6 * len(paths)), squeeze=False)
    vmax = float(abs(truth).quantile(0.98))
    for i, (meth, path) in enumerate(paths.items()):
        pred = load_prediction(path).pr.mean("time") * 86400
        for j, (title, f, cm) in enumerate((("truth", truth, "BrBG"), (f"{meth} m={m}", pred, "BrBG"),
                                            ("error", pred - truth, "RdBu_r"))):
            ax = axes[i, j]
            im = ax.pcolormesh(f.longitude, f.latitude, f, cmap=cm, vmin=-vmax, vmax=vmax, shading="auto")
            ax.set_title(f"pr 2080-2100 [mm/day]: {title}", fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
        fig.colorbar(im, ax=axes[i].tolist(), shrink=0.8)
    name = f"{BENCHMARK.json_name(args.preset)}.png"
    save_figure(fig, Path(args.out) / name, dpi=80)
    plt.close(fig)
    return name


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="a real ClimateBench folder (release layout or flat) instead of the offline generator")
    parser.add_argument("--members", nargs="+", type=int, default=None,
                        help="training-member counts m (default: 1 3 10 50 generated, 3 with --data)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="emulators to run (default: all three)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the runs (and of the generated data; default: 0)")


BENCHMARK = register_benchmark(Benchmark(name="climatebench", summary=__doc__.strip().splitlines()[0], sweep=sweep,
                                         report=report, presets=("cpu", "gpu", "smoke"), options=add_options))
