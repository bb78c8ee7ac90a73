"""Atomic writes under SIGKILL: a writer killed at any point leaves the old output (or the complete new one)
intact and readable, never a half-written or missing one, and the next write cleans its leftovers.

One helper process imports sciml once and forks a fresh writer for each kill, so many kills stay cheap.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from sciml.data import open_dataset, save_dataset
from sciml.utils.files import MARKER, clean_leftovers, leftovers

ROOT = Path(__file__).resolve().parents[2]

# stdin "loop": fork a writer that writes NEW (every value 1.0) over TARGET until killed;
# stdin "step N": fork a writer that SIGKILLs itself just before the N-th filesystem step of one write.
# For each command the helper prints the writer's pid, then its wait status.
HELPER = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    import numpy as np, torch, xarray as xr
    import sciml.utils.files as F
    from sciml.data import save_dataset
    from sciml.models import build_model
    from sciml.train.checkpoint import save_checkpoint
    torch.set_num_threads(1)
    target, kind, exchange = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    n, res = (48, 32) if kind != "store" else (4, 8)
    ds = xr.Dataset({v: (("sample", "y", "x"), np.ones((n, res, res), "float32")) for v in ("a", "u")})
    if kind in ("zarr", "store"):
        ds = ds.chunk({"sample": 1})  # many chunk files: a write (and a delete) takes a while
    net = build_model("fno", in_channels=1, out_channels=1, modes=8, width=32, layers=4, padding=0)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    suffix = ".zarr" if kind in ("zarr", "store") else ""

    def write():
        if kind == "ckpt":
            save_checkpoint(target, net)
        else:
            save_dataset(ds, target, overwrite=True)

    def fault_before(step):
        calls = {"n": 0}
        def ours(args):  # a step of the swap: the target, its temporary folder, or what sits directly in it
            paths = [Path(a) for a in args if isinstance(a, (str, os.PathLike))]
            return any(p == target or target.parent in (p.parent, p.parent.parent) for p in paths)
        def before(fn):
            def wrapped(*a, **k):
                if ours(a):
                    calls["n"] += 1
                    if calls["n"] == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                return fn(*a, **k)
            return wrapped
        if not exchange:  # the portable two-rename path
            F._exchange = lambda a, b: False
        F._exchange = before(F._exchange)
        os.replace = before(os.replace)
        shutil.rmtree = before(shutil.rmtree)

    for line in sys.stdin:
        cmd = line.split()
        pid = os.fork()
        if pid == 0:
            if cmd[0] == "step":
                fault_before(int(cmd[1]))
                write()
            else:
                while True:
                    write()
            os._exit(0)
        print(pid, flush=True)
        print(os.waitpid(pid, 0)[1], flush=True)
""")


class Helper:
    def __init__(self, target: Path, kind: str, exchange: bool = True):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        self.proc = subprocess.Popen([sys.executable, "-c", HELPER, str(target), kind, "1" if exchange else "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def _send(self, line: str) -> int:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def kill_after(self, delay: float) -> None:
        """Start a looping writer, SIGKILL it after ``delay`` seconds."""
        pid = self._send("loop")
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        assert os.WTERMSIG(int(self.proc.stdout.readline())) == signal.SIGKILL

    def step(self, n: int) -> bool:
        """One write killed before its ``n``-th step; True if it finished (fewer than ``n`` steps)."""
        self._send(f"step {n}")
        status = int(self.proc.stdout.readline())
        assert os.WIFEXITED(status) or os.WTERMSIG(status) == signal.SIGKILL
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _zeros(n: int = 48, res: int = 32, chunked: bool = False) -> xr.Dataset:
    ds = xr.Dataset({v: (("sample", "y", "x"), np.zeros((n, res, res), "float32")) for v in ("a", "u")})
    return ds.chunk({"sample": 1}) if chunked else ds


def _old(kind: str, target: Path) -> None:
    """The existing good output: every value 0.0."""
    if kind == "ckpt":
        from sciml.models import build_model
        from sciml.train.checkpoint import save_checkpoint

        net = build_model("fno", in_channels=1, out_channels=1, modes=8, width=32, layers=4, padding=0)
        with torch.no_grad():
            for p in net.parameters():
                p.zero_()
        save_checkpoint(target, net)
    elif kind == "store":
        save_dataset(_zeros(4, 8, chunked=True), target)
    else:
        save_dataset(_zeros(chunked=kind == "zarr"), target)


def _values(kind: str, target: Path) -> set[float]:
    """The distinct values in the output (reading it raises if it is damaged): {0.0} old, {1.0} new."""
    if kind == "ckpt":
        from sciml.train.checkpoint import load_checkpoint

        sd = load_checkpoint(target)["state_dict"]
        return set(torch.cat([t.flatten().float() for t in sd.values() if t.is_floating_point()]).unique().tolist())
    ds = open_dataset(target).load()
    return set(np.unique(np.concatenate([ds[v].values.ravel() for v in ("a", "u")])).tolist())


@pytest.mark.parametrize("kind, name", [("netcdf", "d.nc"), ("zarr", "d.zarr"), ("ckpt", "model.pt")])
def test_sigkill_at_random_points_leaves_a_whole_output(kind, name, tmp_path):
    target = tmp_path / name
    _old(kind, target)
    helper = Helper(target, kind)
    interrupted = 0
    try:
        for delay in np.random.default_rng(0).uniform(0.02, 0.4, size=6):
            helper.kill_after(float(delay))
            interrupted += bool(leftovers(target))
            assert _values(kind, target) in ({0.0}, {1.0})  # the old output or the whole new one, readable
            assert sorted(tmp_path.glob(f"*{target.suffix}")) == [target]  # readers never match a temporary
        for _ in range(10):  # end on a kill inside a write (each writer cleans its predecessors' leftovers)
            if leftovers(target):
                break
            helper.kill_after(0.2)
    finally:
        helper.close()
    assert interrupted and leftovers(target), "no kill fell inside a write: no interruption was exercised"
    save_dataset(_zeros(2, 4), tmp_path / "other.nc")  # a write of another target leaves these alone...
    assert leftovers(target)
    if kind == "ckpt":  # ...the next write of this one removes them
        _old(kind, target)
    else:
        save_dataset(_zeros(2, 4, chunked=kind == "zarr"), target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "other.nc"])


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_store_swap_killed_before_each_step_loses_nothing(exchange, tmp_path):
    """Kill before every filesystem step of replacing a Zarr store: after the next write's cleanup the
    target is the old store or the new one, whole, with sciml's marker, and no temporary is left."""
    seen, step = set(), 1
    target = tmp_path / "d.zarr"
    helper = Helper(target, "store", exchange)
    try:
        while True:
            save_dataset(_zeros(4, 8, chunked=True), target, overwrite=True)  # the old store, every value 0
            finished = helper.step(step)
            clean_leftovers(target)  # what the next write of this target does first
            values = _values("store", target)
            assert values in ({0.0}, {1.0}), f"killed before step {step}: {values}"
            assert (target / MARKER).is_file() and [p.name for p in tmp_path.iterdir()] == ["d.zarr"]
            seen |= values
            if finished:  # the writer got past every step: every kill point has been tried
                break
            step += 1
    finally:
        helper.close()
    assert seen == {0.0, 1.0} and step >= 3
