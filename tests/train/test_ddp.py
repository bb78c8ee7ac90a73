"""2 processes (gloo, CPU) under torchrun give the same model as 1 process on the same global batch."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_matches_single(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    worker = str(ROOT / "tests" / "train" / "ddp_worker.py")
    subprocess.run([sys.executable, worker, str(tmp_path / "single.pt")], env=env, check=True, timeout=300)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                    "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
                    worker, str(tmp_path / "ddp.pt")], env=env, check=True, timeout=300)
    single, ddp = torch.load(tmp_path / "single.pt"), torch.load(tmp_path / "ddp.pt")
    for k in single["state"]:
        torch.testing.assert_close(single["state"][k], ddp["state"][k], rtol=1e-4, atol=1e-6)
    for a, b in zip(single["hist"], ddp["hist"]):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-4 * abs(a["train_loss"])
        assert abs(a["val_rel_l2"] - b["val_rel_l2"]) < 1e-4 * abs(a["val_rel_l2"])
