"""Export a trained ``dcdm`` checkpoint as the package's shipped model (weights + config only, < 1 MB).

From the shell::

    python -m sciml.linalg.ship runs/dcdm32/best.pt [--dest sciml/assets/dcdm_poisson3d.pt] [--zero-offset]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from sciml.models import load_model
from sciml.models.dcdm import rebuild
from sciml.train.checkpoint import load_checkpoint, save_checkpoint

DEFAULT_DEST = Path(__file__).resolve().parents[1] / "assets" / "dcdm_poisson3d.pt"


def ship(src: str, dest: str | Path = DEFAULT_DEST, zero_offset: bool | None = None) -> Path:
    """Re-save ``src`` without optimizer state, keeping its metrics/notes in ``extra``. ``zero_offset``:
    set the net's ``zero_offset`` flag (ADR 0096) on the same weights."""
    ckpt = load_checkpoint(src, expected_model="dcdm")
    model = load_model(src)
    if zero_offset is not None:
        model = rebuild(model, zero_offset=zero_offset)
    extra = {"source": str(src), "trained": {k: v for k, v in ckpt.get("extra", {}).items()
                                             if isinstance(v, (int, float, str))}}
    return save_checkpoint(dest, model, extra=extra)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("--dest", default=str(DEFAULT_DEST))
    p.add_argument("--zero-offset", action="store_true", help="set the zero_offset flag (ADR 0096)")
    a = p.parse_args(argv)
    out = ship(a.src, a.dest, True if a.zero_offset else None)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
