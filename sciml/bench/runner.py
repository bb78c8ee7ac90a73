"""The one benchmark runner: a benchmark is a sweep of experiment specs plus a report.

``sciml bench NAME --preset cpu|gpu`` builds the sweep (:class:`Row` s: one :class:`~sciml.experiment.ExperimentSpec`
each, with the task and method it fills in the table), runs every spec through
:func:`sciml.experiment.run_experiment` (the same path as ``sciml train``), writes the scores as rows of
``docs/benchmarks/NAME.json`` and renders the page from them. ``--dry-run`` prints the specs as YAML
documents instead: each runs alone with ``sciml train``.

A run is resumable: each spec writes into its own folder under ``--runs`` and leaves ``scores.json`` there
with the spec it scored; a rerun reuses the scores of every spec whose folder holds the same spec, and
runs the others. ``--fresh`` recomputes every row (it never deletes a folder; runs overwrite their files).

A run cut short keeps every finished row: the JSON is rewritten after every row that ran (a cheap write),
while the page and its figures, whose plotting can cost seconds, are rendered at most every
:data:`RENDER_EVERY_S` seconds, once at the end, and once more when ``timeout`` (SIGTERM) or Ctrl-C stops
the run. Rerunning the same command reuses the finished rows and renders the page.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from sciml.bench.results import BenchResult, command_line
from sciml.utils.arguments import ArgumentParser
from sciml.errors import ConfigError
from sciml.experiment import ExperimentSpec, run_experiment
from sciml.registry import Registry
from sciml.utils.files import write_json

BENCHMARK_MODULES = (
    "sciml.bench.climatebench",
    "sciml.bench.dcdm",
    "sciml.bench.lpn",
    "sciml.bench.medida",
    "sciml.bench.operators",
    "sciml.bench.pig",
    "sciml.bench.sinenet",
)


# Seconds of wall time between two renderings of the page during a run. Rendering draws the figures (about
# 4 s for the pig page), so rendering after every row made a sweep of fast or reused rows mostly plotting;
# the JSON, which is what a run cut short must keep, is still written after every row that ran.
RENDER_EVERY_S = 60.0


PRESET_HELP = {
    "cpu": "the published CPU page: a laptop, minutes to hours",
    "gpu": "the paper's scale, one GPU",
    "smoke": "a reduced sweep that checks the whole pipeline in minutes",
}


@dataclass(frozen=True)
class Row:
    """One experiment of a sweep and the table cell it fills: ``task`` x ``method`` (x the spec's seed).
    ``labels`` are extra fields copied into every JSON row (e.g. a grid or a family)."""

    task: str
    method: str
    spec: ExperimentSpec
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    """A declared benchmark.

    ``sweep(preset, args) -> list[Row]`` builds the specs; ``report(res, args) -> str`` renders the page's
    markdown (and writes its figures beside it) from the rows; ``options(parser)`` adds the benchmark's own
    command-line options (each with a help text); ``result_name(preset)`` names the JSON/page;
    ``preset_help`` says what a preset means where :data:`PRESET_HELP`'s generic text does not fit;
    ``settings(args) -> dict`` gives the run's settings kept in the JSON's ``meta`` (written with the first row,
    so a JSON left by a run cut short has them too).
    """

    name: str
    summary: str
    sweep: Callable[[str, argparse.Namespace], list[Row]]
    report: Callable[[BenchResult, argparse.Namespace], str]
    presets: tuple[str, ...] = ("cpu", "gpu")
    options: Callable[[argparse.ArgumentParser], None] | None = None
    result_name: Callable[[str], str] | None = None
    preset_help: dict[str, str] = field(default_factory=dict)
    settings: Callable[[argparse.Namespace], dict[str, Any]] | None = None

    def json_name(self, preset: str) -> str:
        return self.result_name(preset) if self.result_name else (self.name if preset == "cpu" else f"{self.name}_{preset}")


BENCHMARKS: Registry[Benchmark] = Registry("benchmark", modules=BENCHMARK_MODULES)


def register_benchmark(bench: Benchmark) -> Benchmark:
    """Register a declared benchmark under its name (called once, in its module)."""
    known = BENCHMARKS._items.get(bench.name)
    if known is None or known.sweep.__qualname__ != bench.sweep.__qualname__:
        BENCHMARKS.register(bench.name)(bench)
    return bench


def spec_key(spec: ExperimentSpec) -> str:
    """A stable digest of everything the spec says (its YAML) but the folder it runs in, used to recognise
    finished runs: a run folder moved or copied under another ``--runs`` is still the same experiment."""
    described = {k: v for k, v in spec.to_dict().items() if k != "out_dir"}
    return hashlib.sha256(yaml.safe_dump(described, sort_keys=True).encode()).hexdigest()[:16]


def finished_scores(spec: ExperimentSpec) -> dict[str, float] | None:
    """The scores a finished run of exactly ``spec`` left in its folder, or None."""
    path = Path(spec.out_dir) / "scores.json"
    if not path.is_file():
        return None
    done = json.loads(path.read_text())
    return done["scores"] if done.get("spec_key") == spec_key(spec) else None


def run_row(row: Row, fresh: bool) -> tuple[dict[str, float], bool]:
    """Scores of ``row`` (reused when its folder holds a finished run of the same spec) and whether it ran."""
    if not fresh:
        done = finished_scores(row.spec)
        if done is not None:
            return done, False
    t0 = time.perf_counter()
    scores = dict(run_experiment(row.spec)["scores"])
    scores.setdefault("wall_s", time.perf_counter() - t0)
    write_json(Path(row.spec.out_dir) / "scores.json",
               {"spec_key": spec_key(row.spec), "spec": row.spec.to_dict(), "scores": scores})
    return scores, True


def dry_run(rows: list[Row]) -> str:
    """The sweep as YAML documents, one spec each, headed by the cell it fills."""
    docs = [f"# {r.task} / {r.method}\n" + yaml.safe_dump(r.spec.to_dict(), sort_keys=False) for r in rows]
    return "---\n".join(docs)


def build_parser(bench: Benchmark) -> ArgumentParser:
    p = ArgumentParser(prog=f"sciml bench {bench.name}", description=bench.summary)
    preset_help = {**PRESET_HELP, **bench.preset_help}
    p.add_argument("--preset", choices=bench.presets, default=bench.presets[0],
                   help="the sweep's scale: " + "; ".join(f"{name} ({preset_help[name]})" for name in bench.presets))
    p.add_argument("--dry-run", action="store_true",
                   help="print the sweep's experiment specs as YAML (each runs alone with `sciml train`) and stop")
    p.add_argument("--out", default="docs/benchmarks",
                   help="folder of the JSON, the page and its figures (default: %(default)s)")
    p.add_argument("--runs", default=None,
                   help="folder of the runs' checkpoints and scores (default: runs/bench/NAME); finished specs are reused")
    p.add_argument("--fresh", action="store_true", help="rerun every spec, even those with finished scores")
    if bench.options:
        bench.options(p)
    return p


def run_benchmark(bench: Benchmark, argv: list[str] | None = None) -> int:
    """``sciml bench NAME``: run the sweep (resuming), write the JSON after every row that ran and render the
    page every :data:`RENDER_EVERY_S` seconds and at the end."""
    args = build_parser(bench).parse_args(argv)
    args.runs = Path(args.runs or Path("runs") / "bench" / bench.json_name(args.preset))
    rows = bench.sweep(args.preset, args)
    if not rows:
        raise ConfigError(f"benchmark {bench.name!r} with these options has nothing to run")
    if args.dry_run:
        print(dry_run(rows))
        return 0
    res = BenchResult(bench.json_name(args.preset), command=command_line())
    res.meta = {"preset": args.preset, **(bench.settings(args) if bench.settings else {})}
    page = PageWriter(bench, res, args)
    with page, stopped_by_sigterm():
        for i, row in enumerate(rows, 1):
            scores, ran = run_row(row, args.fresh)
            print(f"[{i}/{len(rows)}] {row.task} / {row.method} (seed {row.spec.seed}): "
                  + ("ran" if ran else "reused") + ", " + ", ".join(f"{k}={v:.4g}" for k, v in scores.items()),
                  flush=True)
            for metric, value in scores.items():
                res.add(row.task, row.method, metric, value, seed=row.spec.seed, **row.labels)
            if ran:
                page.row_ran()
    json_path, md_path = page.paths
    print(f"wrote {json_path.parent / json_path.stem}.{{json,md}}")
    return 0


class PageWriter:
    """Writes a run's JSON and page: the JSON after every row that ran, the page (``bench.report``, figures
    included) at most every :data:`RENDER_EVERY_S` seconds, and both when the run ends, however it ends
    (used as a context manager around the row loop)."""

    def __init__(self, bench: Benchmark, res: BenchResult, args: argparse.Namespace):
        self.bench, self.res, self.args = bench, res, args
        self.out = Path(args.out)
        self.last_render = time.monotonic()
        self.paths = res.paths(self.out)

    def row_ran(self) -> None:
        self.res.write_json(self.out)
        if time.monotonic() - self.last_render >= RENDER_EVERY_S:
            self.render()

    def render(self) -> None:
        """The page and its figures, and the JSON (which no row wrote yet when every row was reused)."""
        self.res.write_page(self.out, self.bench.report(self.res, self.args))
        self.res.write_json(self.out)
        self.last_render = time.monotonic()

    def __enter__(self) -> "PageWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.res.rows:
            return
        if exc_type is None:
            self.render()
            return
        print("stopped: rendering the page of the finished rows", flush=True)
        try:
            self.render()
        except Exception as err:  # the error that stopped the run is the one to report
            print(f"the page was not rendered ({type(err).__name__}: {err}); rerun the same command to render it",
                  flush=True)


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM (what ``timeout`` sends) into ``SystemExit(143)`` while the rows run, so the page of the
    finished rows is rendered on the way out; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(name: str, argv: list[str] | None = None) -> int:
    """Run benchmark ``name`` (a declared :class:`Benchmark`) through :func:`run_benchmark`."""
    if name not in available():
        raise ConfigError(f"unknown benchmark {name!r}; the benchmarks are: {', '.join(available())}")
    importlib.import_module(f"sciml.bench.{name}")  # registers this benchmark alone: importing all is slower
    return run_benchmark(BENCHMARKS.get(name), argv)


def available() -> list[str]:
    """The benchmarks ``sciml bench`` can run (the modules of :data:`BENCHMARK_MODULES`)."""
    return sorted(m.rsplit(".", 1)[1] for m in BENCHMARK_MODULES)
