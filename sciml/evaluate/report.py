"""Markdown + PNG reports from metric Datasets."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import xarray as xr

from sciml.utils.files import save_figure, write_text


def metrics_table(results: Mapping[str, xr.Dataset], metrics: list[str]) -> str:
    """Markdown table: one row per model, mean ± std over samples for each metric (NaN if any sample is NaN)."""
    lines = ["| model | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, ds in results.items():
        cells = [f"{float(ds[m].mean(skipna=False)):.4g} ± {float(ds[m].std(skipna=False)):.2g}" if m in ds else "—"
                 for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_panels(rows: Mapping[str, Mapping[str, np.ndarray]], path: str | Path, cmap: str = "viridis") -> Path:
    """Grid of images: one figure row per entry of ``rows`` (``{row: {panel title: 2-D array}}``).

    Truth/prediction panels in a row share a colour scale; panels titled ``input...`` get their own
    scale and panels titled ``error...`` their own diverging scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncol = max(len(r) for r in rows.values())
    fig, axes = plt.subplots(len(rows), ncol, figsize=(3.1 * ncol, 2.8 * len(rows)), squeeze=False)
    for i, (row_name, panels) in enumerate(rows.items()):
        own = lambda title: title.lower().startswith(("error", "input"))  # noqa: E731
        fields = [v for k, v in panels.items() if not own(k)]
        vmin = min(float(np.min(v)) for v in fields) if fields else None
        vmax = max(float(np.max(v)) for v in fields) if fields else None
        for j, (title, arr) in enumerate(panels.items()):
            ax = axes[i, j]
            if title.lower().startswith("error"):
                lim = float(np.max(np.abs(arr))) or 1.0
                im = ax.imshow(arr, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
            elif own(title):
                im = ax.imshow(arr, origin="lower", cmap=cmap)
            else:
                im = ax.imshow(arr, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_title(f"{row_name}: {title}" if j == 0 else title, fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        for j in range(len(panels), ncol):
            axes[i, j].axis("off")
    fig.tight_layout()
    path = save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def write_report(path: str | Path, title: str, sections: list[str]) -> Path:
    """Write a markdown report atomically: ``# title`` followed by the sections."""
    return write_text(path, f"# {title}\n\n" + "\n\n".join(s.strip() for s in sections) + "\n")
