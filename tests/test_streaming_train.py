"""`sciml train` streams a store larger than the memory it is allowed: the training process's peak
resident memory grows by a fraction of the data, where loading the data grows it by all of it.

Why peak RSS and not an address-space limit: ``RLIMIT_AS``/``RLIMIT_DATA`` count reserved virtual
memory (torch's and OpenMP's thread stacks and arenas, glibc's per-thread heaps), which the process
never touches, so a limit low enough to matter would fail for reasons that have nothing to do with
the data. Peak RSS (``ru_maxrss`` of a fresh wrapper's only child) counts the pages the process
really held, which is what loading the data would add. The fixed cost of a run (Python, torch, the
model, the optimiser) does not depend on the data, so it is measured by the same training on a small
store of the same layout, and the bound is on the growth from that run to the large one.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
import yaml

from sciml.data import save_dataset

ROOT = Path(__file__).resolve().parents[1]
RES, STORED = 64, 16  # grid, samples per stored chunk (256 KiB per chunk and variable)
N_LARGE, N_SMALL = 32768, 256  # 1 GiB of float32 (a and u) against 8 MiB
# runs the command as its only child, then prints the child's peak RSS (KiB on Linux)
_PEAK = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
         "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")


def _write_store(path: Path, n: int) -> int:
    """A Zarr store of ``n`` samples of ``a`` (noise) and ``u = 2a + 1``, written chunk by chunk from
    dask (never held in memory); returns its size in memory (bytes)."""
    a = dsa.random.default_rng(0).standard_normal((n, RES, RES), chunks=(STORED, RES, RES), dtype=np.float32)
    ds = xr.Dataset({"a": (("sample", "y", "x"), a), "u": (("sample", "y", "x"), 2 * a + 1)})
    save_dataset(ds, path)
    return ds.nbytes


def _peak_mib(args: list[str]) -> float:
    out = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split("PEAK_KIB")[-1]) / 1024


def _train(tmp_path: Path, store: Path) -> float:
    """Peak RSS (MiB) of ``sciml train`` on ``store``: the whole data is validated, fitted and
    fingerprinted; a few shuffled training steps and one validation pass read what they need."""
    spec = {"name": store.stem, "out_dir": str(tmp_path / f"run_{store.stem}"),
            "data": {"path": str(store), "inputs": ["a"], "targets": ["u"],
                     "split": {"train": 0.98, "val": 0.01, "test": 0.01}},
            "model": {"name": "fno", "modes": 4, "width": 4, "layers": 1, "padding": 0, "head_width": 4},
            "train": {"epochs": 1, "batch_size": 16, "steps_per_epoch": 8, "amp": False, "device": "cpu"}}
    path = tmp_path / f"{store.stem}.yaml"
    path.write_text(yaml.safe_dump(spec))
    peak = _peak_mib([sys.executable, "-m", "sciml", "train", str(path), "--no-eval"])
    assert (tmp_path / f"run_{store.stem}" / "best.pt").is_file()
    return peak


@pytest.mark.slow  # writes and reads 1 GiB several times: minutes on 2 shared cores
def test_train_streams_a_store_larger_than_its_memory_bound(tmp_path):
    small, large = tmp_path / "small.zarr", tmp_path / "large.zarr"
    try:
        _write_store(small, N_SMALL)
        nbytes = _write_store(large, N_LARGE) / 2**20
        peak = _train(tmp_path, large)
        growth = peak - _train(tmp_path, small)
        # the control: what sciml train did before streaming (load_data's open_dataset(path).load()),
        # after the same imports; it grows by the whole store
        load = ("import resource, sciml.experiment; from sciml.data import open_dataset; "
                "before = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]); "
                f"open_dataset({str(large)!r}).load(); "
                "print('GROWTH_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
        out = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, cwd=ROOT)
        loaded = int(out.stdout.split("GROWTH_KIB")[-1]) / 1024
    finally:  # pytest keeps recent tmp_paths: do not leave a GiB behind
        for store in (small, large):
            shutil.rmtree(store, ignore_errors=True)
    bound = nbytes / 4
    print(f"store {nbytes:.0f} MiB: streaming run peaks at {peak:.0f} MiB, {growth:.0f} MiB over the small "
          f"store's run (bound {bound:.0f} MiB); loading grows {loaded:.0f} MiB")
    assert growth < bound and peak < nbytes
    assert loaded > nbytes * 0.95 > bound
