"""The ``sciml`` command: data, train, evaluate, bench, climate, demo."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sciml._version import __version__
from sciml.errors import SciMLError
from sciml.utils.arguments import ArgumentParser
from sciml.utils.progress import set_quiet


def _parse_params(pairs: list[str]) -> dict:
    """``["k=v", ...]`` -> dict, values parsed as YAML scalars (numbers, bools, lists)."""
    from sciml.config import parse_yaml
    from sciml.errors import ConfigError

    out = {}
    for pair in pairs or []:
        k, sep, v = pair.partition("=")
        if not sep or not k:
            raise ConfigError(f"--param expects KEY=VALUE, got {pair!r}; e.g. --param viscosity=1e-3")
        out[k] = parse_yaml(v, source=f"--param {k}")
    return out


def cmd_data_make(a: argparse.Namespace) -> int:
    from sciml.data import make_dataset, save_dataset
    from sciml.data.io import check_save_target

    check_save_target(a.out, overwrite=a.overwrite)  # before the (possibly long) generation
    params = {"n": a.n, "res": a.res, "seed": a.seed, **_parse_params(a.param)}  # --param n=... may stand for --n
    ds = make_dataset(a.name, **params)
    save_dataset(ds, a.out, overwrite=a.overwrite)
    print(f"wrote {a.out}: {dict(ds.sizes)}, variables {sorted(map(str, ds.data_vars))}")
    return 0


def cmd_data_info(a: argparse.Namespace) -> int:
    from sciml.data import open_dataset

    ds = open_dataset(a.file)
    print(ds)
    return 0


def cmd_data_list(a: argparse.Namespace) -> int:
    from sciml.data import dataset_names

    print("\n".join(dataset_names()))
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    from sciml.experiment import load_experiment, run_experiment

    spec = load_experiment(a.config)
    if a.out_dir:
        spec.out_dir = a.out_dir
    res = run_experiment(spec, resume=a.resume, evaluate=False if a.no_eval else None)
    print(f"{res['recipe']} run {res['name']!r}: {res['checkpoint']}")
    if res["scores"]:
        print("scores: " + json.dumps(res["scores"]))
        print(f"report: {res['out_dir']}/")
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from sciml.experiment import evaluate_checkpoint, summary_scores

    out = a.out or str(Path(a.checkpoint).parent / "eval")
    metrics = evaluate_checkpoint(a.checkpoint, a.data, out)
    print(json.dumps({**{k: v for k, v in metrics.attrs.items() if isinstance(v, str)}, **summary_scores(metrics)},
                     indent=1))
    print(f"report: {out}/")
    return 0


def cmd_recipes(a: argparse.Namespace) -> int:
    from sciml.experiment import KEY_TABLE_HEAD, common_key_rows, recipe_keys
    from sciml.recipes import RECIPES

    if a.name is not None:
        text = recipe_keys(a.name) + "\n## Keys every spec has\n\n" + "\n".join([KEY_TABLE_HEAD, *common_key_rows()])
        print(text.replace(" \\| ", " or "))  # the table cells' escaped "|", for a terminal
        return 0
    for name in RECIPES.names():
        print(f"{name:18s} {RECIPES.get(name).summary}")
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from sciml.bench import available, run

    if a.name is None:
        print("available benchmarks: " + ", ".join(available()))
        return 0
    return run(a.name, a.args)


def cmd_climate_fit(a: argparse.Namespace) -> int:
    from sciml.climate.io import TEST_EXPERIMENT, load_inputs
    from sciml.climate.prediction import PREDICTION_FILE, write_scenario_prediction
    from sciml.climate.recipes import check_emulator_settings
    from sciml.experiment import run_experiment, spec_from_dict

    check_emulator_settings(a.model, epochs=a.epochs, config=a.model_param)
    load_inputs(a.data, TEST_EXPERIMENT)  # the scenario to predict must be there before training starts
    out = Path(a.out or f"runs/climate-{a.model}")
    params = {"data": str(Path(a.data).resolve()), "model": a.model, "members": a.members,
              **({"epochs": a.epochs} if a.epochs is not None else {}),
              **({"config": _parse_params(a.model_param)} if a.model_param else {})}
    spec = spec_from_dict({"recipe": "climate_emulator", "name": f"climate-{a.model}", "out_dir": str(out),
                           "seed": a.seed, "device": a.device, "evaluate": False, "params": params})
    res = run_experiment(spec)
    pred = write_scenario_prediction(res["checkpoint"], a.data, out / PREDICTION_FILE)
    print(f"{a.model} emulator: {res['checkpoint']}\nssp245 prediction: {pred}\n"
          f"score it: sciml climate score {out} --data {a.data}")
    return 0


def cmd_climate_score(a: argparse.Namespace) -> int:
    from sciml.climate.baselines import paper_table
    from sciml.climate.prediction import score_prediction

    scores, truth, name = score_prediction(a.prediction, a.data)
    kind = "generated (synthetic) data" if truth.attrs.get("synthetic") == "true" else "data"
    print(f"ClimateBench scores, ssp245 2080-2100, truth = mean of {truth.sizes['member']} member(s) of the {kind} "
          f"in {a.data}; NRMSE, total = spatial + 5 x global")
    print(paper_table({name: scores}, published=not a.no_published))
    if not a.no_published:
        print("published: NorESM2-LM ssp245 (Watson-Parris et al. 2022, Table 2; LPS tas from Lütjens et al. 2024), "
              "comparable only on the real ClimateBench files; sources in sciml.climate.baselines")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from sciml.demo import run_demo

    run_demo(out_dir=a.out, n=a.n, res=a.res, epochs=a.epochs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="sciml", description=__doc__)
    p.add_argument("--version", action="version", version=f"sciml {__version__}")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    p.add_argument("--quiet", action="store_true",
                   help="no progress reports (bars on a terminal, periodic lines otherwise); also SCIML_QUIET=1")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make, inspect and list datasets").add_subparsers(dest="data_cmd", required=True)
    mk = data.add_parser("make", help="generate a registered dataset and save it")
    mk.add_argument("name", help="a registered dataset generator (`sciml data list` lists them)")
    mk.add_argument("--out", required=True, help="output file (.nc, .zarr or .h5)")
    mk.add_argument("--n", type=int, default=None, help="number of samples")
    mk.add_argument("--res", type=int, default=None, help="grid resolution")
    mk.add_argument("--seed", type=int, default=0, help="random seed of the generator (same seed, same data)")
    mk.add_argument("--param", action="append", metavar="KEY=VALUE", help="generator parameter (repeatable)")
    mk.add_argument("--overwrite", action="store_true",
                    help="replace an existing OUT (only a file, or a store that sciml wrote)")
    mk.set_defaults(fn=cmd_data_make)
    info = data.add_parser("info", help="print a dataset's summary")
    info.add_argument("file", help="a dataset file (.nc, .zarr or .h5)")
    info.set_defaults(fn=cmd_data_info)
    data.add_parser("list", help="list registered datasets").set_defaults(fn=cmd_data_list)

    tr = sub.add_parser("train", help="train from an experiment YAML")
    tr.add_argument("config", help="an experiment spec YAML (its keys: `sciml recipes RECIPE`)")
    tr.add_argument("--out-dir", default=None, help="override the config's out_dir")
    tr.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt if present")
    tr.add_argument("--no-eval", action="store_true", help="skip the test-set evaluation")
    tr.set_defaults(fn=cmd_train)

    ev = sub.add_parser("evaluate", help="score a run's checkpoint (or JSON artefact) with its recipe's evaluator")
    ev.add_argument("checkpoint", help="a checkpoint (.pt) or JSON artefact written by `sciml train` (any recipe)")
    ev.add_argument("data", nargs="?", default=None,
                    help="data to score on (default: the run's own held-out data, as its checkpoint records)")
    ev.add_argument("--out", default=None, help="output directory (default: next to the checkpoint)")
    ev.set_defaults(fn=cmd_evaluate)

    rc = sub.add_parser("recipes", help="list the recipes an experiment spec can name, or one recipe's keys")
    rc.add_argument("name", nargs="?", help="a recipe: print every key its spec may hold, with type and default")
    rc.set_defaults(fn=cmd_recipes)

    be = sub.add_parser("bench", help="run a benchmark (no name: list them)")
    be.add_argument("name", nargs="?", help="the benchmark to run (omit to list them)")
    be.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")
    be.set_defaults(fn=cmd_bench)

    _add_climate_parser(sub)

    de = sub.add_parser("demo", help="the quick start: Darcy data, MgNO, FNO and U-Net, a report")
    de.add_argument("--out", default="runs/demo", help="folder of the demo's data, checkpoints and report")
    de.add_argument("--n", type=int, default=400, help="number of Darcy samples to generate")
    de.add_argument("--res", type=int, default=32, help="grid resolution of the samples")
    de.add_argument("--epochs", type=int, default=20, help="training epochs of each model")
    de.set_defaults(fn=cmd_demo)
    return p


def _add_climate_parser(sub) -> None:
    """``sciml climate fit|score``: ClimateBench emulators on a folder as users hold it."""
    cl = sub.add_parser("climate", help="fit a ClimateBench emulator and score its ssp245 prediction")
    csub = cl.add_subparsers(dest="climate_cmd", required=True)
    fit = csub.add_parser("fit", help="train an emulator on the six training experiments and predict ssp245")
    fit.add_argument("--model", required=True, choices=("lps", "cnn_lstm", "prithvi"),
                     help="lps: linear pattern scaling (closed form, seconds); cnn_lstm: the ClimateBench CNN-LSTM; "
                          "prithvi: the Prithvi-style transformer (LPS + masked pre-training + fine-tuning)")
    fit.add_argument("--data", required=True,
                     help="ClimateBench folder: the release unpacked as train_val/ and test/, or a flat folder "
                          "of inputs_*.nc and outputs_*.nc")
    fit.add_argument("--out", default=None, help="run folder: checkpoint and prediction (default runs/climate-MODEL)")
    fit.add_argument("--seed", type=int, default=0, help="random seed (same seed, same emulator)")
    fit.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (a GPU when there is one)")
    fit.add_argument("--members", type=int, default=None,
                     help="train on the mean of the first N members of each experiment (default: all in the files)")
    fit.add_argument("--epochs", type=int, default=None,
                     help="training epochs of a neural emulator (default: the climate_emulator recipe's)")
    fit.add_argument("--model-param", action="append", metavar="KEY=VALUE",
                     help="model config entry of a neural emulator, e.g. hidden=16 (repeatable)")
    fit.set_defaults(fn=cmd_climate_fit)
    sc = csub.add_parser("score", help="score an ssp245 prediction; print the paper's table beside its baselines")
    sc.add_argument("prediction", help="a prediction .nc (outputs schema) or the --out folder of `sciml climate fit`")
    sc.add_argument("--data", required=True, help="ClimateBench folder holding outputs_ssp245.nc (the truth)")
    sc.add_argument("--no-published", action="store_true", help="omit the published baselines from the table")
    sc.set_defaults(fn=cmd_climate_score)


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (any :class:`SciMLError`) prints one line and returns 2; Ctrl-C prints one
    line and returns 130; ``--debug`` re-raises either with its traceback. Any other exception is a bug and
    propagates with its traceback."""
    args = build_parser().parse_args(argv)
    if args.quiet:
        set_quiet(True)
    try:
        return args.fn(args)
    except SciMLError as exc:
        if args.debug:
            raise
        print(f"sciml: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        hint = "; `sciml train SPEC --resume` continues from the last finished epoch" if args.fn is cmd_train else ""
        print(f"sciml: interrupted{hint}", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    """The message on one line (a message quoting a multi-line value must not break the contract)."""
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
