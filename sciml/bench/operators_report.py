"""The ``sciml bench operators`` page: the preset's protocol, one table per task, the Darcy target,
the verdict per baseline and the figure of inputs, truth, predictions and errors, all from the result rows and
the runs' checkpoints."""
from __future__ import annotations

import argparse
from pathlib import Path

from sciml.bench.results import BenchResult
from sciml.data import open_chunked
from sciml.evaluate import plot_panels, predict_fields
from sciml.models import load_model
from sciml.train.checkpoint import load_checkpoint

METRICS = ["rel_l2", "rel_h1", "params", "gmacs", "epochs", "s_per_epoch", "peak_mem_mb", "infer_ms"]
FIGURE_METHODS = ("mgno", "mgno_bilinear", "fno", "fno_neuralop", "unet")
ERROR_METHODS = ("mgno", "mgno_bilinear", "fno")


def first_test_sample(checkpoint: Path) -> dict[str, object]:
    """Input, truth and the model's prediction of the first held-out sample of the checkpoint's own run."""
    extra = load_checkpoint(checkpoint)["extra"]
    inp, out = extra["inputs"][0], extra["targets"][0]
    ds = open_chunked(extra["data_path"]).isel(sample=[extra["split"]["test"][0]]).load()
    model = load_model(checkpoint)
    pred = predict_fields(model, ds, extra["inputs"], extra["targets"], getattr(model, "normalizers", None))
    return {"input": ds[inp].values[0], "truth": ds[out].values[0], "prediction": pred[out].values[0]}


def figure(res: BenchResult, runs: Path, seed: int, path: Path) -> Path | None:
    """Per task of ``res``: input, truth, every model's prediction and the MgNO/FNO errors, seed ``seed``."""
    from sciml.bench.operators import run_name  # the sweep names the runs; imported here to avoid a cycle

    rows = {}
    for task in dict.fromkeys(r["task"] for r in res.rows):
        row: dict[str, object] = {}
        for method in FIGURE_METHODS:
            ckpt = runs / run_name(task, method, seed) / "best.pt"
            if not ckpt.is_file():
                continue
            ex = first_test_sample(ckpt)
            row.setdefault(f"input {task}", ex["input"])
            row.setdefault("truth", ex["truth"])
            row[method] = ex["prediction"]
            if method in ERROR_METHODS:
                row[f"error {method}"] = ex["prediction"] - ex["truth"]
        if row:
            rows[task] = row
    return plot_panels(rows, path) if rows else None


def per_seed_ratios(res: BenchResult, task: str, base: str = "fno", metric: str = "rel_l2") -> dict[int, float]:
    """seed -> baseline / MgNO error for the seeds both methods have (each seed draws its own data)."""
    val = {(r["method"], r["seed"]): r["value"] for r in res.rows
           if r["task"] == task and r["metric"] == metric and r["value"] is not None}
    return {s: val[(base, s)] / val[("mgno", s)] for (m, s) in sorted(val, key=lambda k: (k[1] is None, k[1]))
            if m == "mgno" and (base, s) in val}


def darcy_target(res: BenchResult) -> str:
    """The Darcy target, checked from the rows: on Darcy MgNO's relative L2 at least 2x below sciml's FNO's
    with fewer parameters, and its H1 error lower too (on the means over the seeds present)."""
    summ, out = res.summary(), []
    for task in ("darcy_smooth", "darcy_rough"):
        if (task, "mgno", "rel_l2") not in summ or (task, "fno", "rel_l2") not in summ:
            continue
        m, f = ({k: summ[(task, n, k)][0] for k in ("rel_l2", "rel_h1", "params")} for n in ("mgno", "fno"))
        ok = f["rel_l2"] >= 2 * m["rel_l2"] and m["params"] < f["params"] and m["rel_h1"] < f["rel_h1"]
        seeds = per_seed_ratios(res, task)
        out.append(f"- {task}: rel_l2 FNO / MgNO = {f['rel_l2'] / m['rel_l2']:.2f} (target >= 2; ratio of the means "
                   f"over {summ[(task, 'mgno', 'rel_l2')][2]} / {summ[(task, 'fno', 'rel_l2')][2]} seeds; per seed "
                   + ", ".join(f"{s}: {r:.2f}" for s, r in seeds.items())
                   + f"); rel_h1 MgNO {m['rel_h1']:.3f} vs FNO {f['rel_h1']:.3f}; params {m['params']:.0f} vs "
                   f"{f['params']:.0f}: **{'met' if ok else 'not met'}**")
    return "\n".join(out)


def verdict(res: BenchResult) -> str:
    """One line per task and baseline: error ratio baseline / MgNO (> 1: MgNO is better) and parameter ratio."""
    summ = res.summary()
    lines = ["| task | baseline | rel_l2 baseline/mgno | rel_h1 baseline/mgno | params baseline/mgno | MgNO loses? |",
             "|---|---|---|---|---|---|"]
    for task in dict.fromkeys(r["task"] for r in res.rows):
        if (task, "mgno", "rel_l2") not in summ:
            continue
        m = {k: summ[(task, "mgno", k)][0] for k in ("rel_l2", "rel_h1", "params")}
        for base in ("fno", "fno_neuralop", "unet"):
            if (task, base, "rel_l2") not in summ:
                continue
            b = {k: summ[(task, base, k)][0] for k in ("rel_l2", "rel_h1", "params")}
            r2, rh, rp = b["rel_l2"] / m["rel_l2"], b["rel_h1"] / m["rel_h1"], b["params"] / m["params"]
            loses = ("yes (L2 and H1)" if r2 < 1 and rh < 1 else
                     "yes (L2)" if r2 < 1 else "yes (H1)" if rh < 1 else "no")
            lines.append(f"| {task} | {base} | {r2:.2f} | {rh:.2f} | {rp:.2f} | {loses} |")
    return "\n".join(lines)


def protocol_text(preset: str, epochs: int | None = None) -> list[str]:
    """The paragraphs that say what every row measures (``epochs``: the ``--epochs`` override, if any)."""
    from sciml.bench.operators import PRESETS

    scale = ("The paper's grids, model sizes and samples on a GPU (the `epochs` column says how long each row "
             "trained). " if preset == "gpu" else
             "This is a reduced CPU budget (small grids, few samples and epochs, narrower FNO and U-Net than the "
             "paper's), so absolute errors are far above the paper's and rankings may change with more training; "
             "`--preset gpu` is the paper's scale. ")
    override = f" Every row trained for {epochs} epochs (`--epochs {epochs}`)." if epochs else ""
    return [f"Preset `{preset}`: {PRESETS[preset]}.{override} Every row is one run of the `field` recipe with its "
            "defaults, the MgNO paper's protocol, for every model: inputs normalised pointwise, the output decoded inside the "
            "model, the spectral relative H1 loss in physical units, Adam (weight decay 1e-4) with OneCycle (20 % "
            "warm-up, lr / 2 to lr to lr / 200), no gradient clipping, the same epochs and data. Methods named "
            "`mgno_*` change one thing (their name says what) and are ablations. Errors are the `field` "
            "evaluator's relative L2 and finite-difference relative H1 (periodic on `ns`) on the held-out test "
            "pairs (the checkpoint of the lowest training loss, physical units).",
            scale + "s_per_epoch is the median epoch time; on a shared CPU compare ratios, not absolute values. On "
            "`ns` MgNO uses the paper's Navier-Stokes variant (global residual u + w0 and GroupNorm); the FNOs and "
            "U-Net predict w1 directly, as in their papers.",
            "`gmacs` are the multiply-accumulates of one sample's forward pass (1e9; torch's FlopCounterMode counts "
            "convolutions, matmuls and spectral products, not FFTs, norms or activations, so the FNOs' FFTs are "
            "missing from their count). `peak_mem_mb` is the CUDA "
            "allocator peak on a GPU; on the CPU it is parameters + gradients + the tensors autograd saves for one "
            "training batch. `infer_ms` is the median forward time per sample in batches of 32."]


def report(res: BenchResult, args: argparse.Namespace) -> str:
    """The page's markdown; the figure is written into ``args.out``."""
    body = protocol_text(args.preset, getattr(args, "epochs", None))
    for task in dict.fromkeys(r["task"] for r in res.rows):
        body += [f"## {task}", res.markdown_table(task, METRICS)]
    if darcy_target(res):
        body += ["## The Darcy target (computed from the rows above)", darcy_target(res)]
    body += ["## MgNO against the baselines (computed from the rows above)", verdict(res)]
    fig = figure(res, Path(args.runs), args.seeds[0], Path(args.out) / f"{res.benchmark}.png")
    if fig is not None:
        body += [f"![inputs, truth, predictions and errors, seed {args.seeds[0]}]({fig.name})"]
    return "\n\n".join(body)
