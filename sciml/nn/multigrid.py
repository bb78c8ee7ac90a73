"""Multigrid V-cycle as a learnable linear operator between channel fields (MgNO, He et al. 2024).

One :class:`MgConv` maps ``f: (B, C_f, H, W)`` to ``u: (B, C_u, H, W)`` by a V-cycle whose
operators are convolutions without bias:

- smoothing ``u <- u + S(f - A u)`` (``A``: 3x3 conv u->f, ``S``: 3x3 conv f->u, one pair per
  step); the very first step on the finest level is ``u = S f`` (the initial guess is zero);
- restriction by 3x3 stride-2 convs: ``Pi`` on ``u`` and ``R`` on ``f`` (``use_res=True``
  restricts the residual ``f - A u`` instead, which makes it a classical correction scheme);
- prolongation by a 4x4 stride-2 transposed conv (the paper's; ``prolongation="bilinear"``: fixed
  bilinear interpolation followed by a learned 3x3 conv on the fine grid), added to the finer ``u``,
  then optional post-smoothing.

Any grid size works: a stride-2 conv maps ``n`` to ``ceil(n / 2)`` and the prolongation's
``2 ceil(n / 2)`` points are cropped back to ``n``; coarse point ``i`` sits on fine point ``2 i``
(the centre of the restriction's stencil), which the bilinear prolongation reproduces. Boundary conditions come from the padding
mode (``zeros``: Dirichlet, ``circular``: periodic, ``reflect``: Neumann-like); the transposed
conv honours it by padding its input in that mode.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def default_levels(grid_size: int, coarsest: int = 4) -> int:
    """Levels such that the coarsest grid has about ``coarsest``..``2*coarsest`` points (211 -> 6, 64 -> 5)."""
    return max(1, int(math.log2(max(grid_size, 1) / coarsest)) + 1)


def default_smoothing(levels: int) -> list[list[int]]:
    """The paper's default: 1 pre-smoothing step per level, 2 on the coarsest, no post-smoothing."""
    return [[1, 0]] * (levels - 1) + [[2, 0]]


class Prolongation(nn.Module):
    """Coarse (B, C, h, w) -> fine (B, C, H, W) with ``H <= 2 h``, honouring the padding mode.

    ``kind="transposed"`` (the paper's): a learned 4x4 stride-2 transposed conv.
    ``kind="bilinear"``: bilinear interpolation on the restriction's grid mapping (coarse ``i`` -> fine
    ``2 i``; a fine point between two coarse ones gets their mean), then a learned 3x3 conv. It has no
    stride-2 kernel whose even and odd taps are learned apart, the source of checkerboard artefacts.
    """

    def __init__(self, channels: int, padding_mode: str = "zeros", kind: str = "transposed"):
        super().__init__()
        if kind not in ("transposed", "bilinear"):
            raise ValueError(f"prolongation must be 'transposed' or 'bilinear', got {kind!r}")
        self.padding_mode, self.kind = padding_mode, kind
        if kind == "bilinear":
            self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False, padding_mode=padding_mode)
        else:
            pad = 1 if padding_mode == "zeros" else 0
            self.conv = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=pad, bias=False)

    def interpolate(self, u: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Fixed bilinear interpolation: fine point ``j`` takes the coarse value at ``j / 2``. An even fine
        size needs one coarse point past the last (fine ``2 h - 1``), taken from the padding mode
        (zero: Dirichlet, wrapped: periodic, mirrored: reflect); h + 1 points to 2 h + 1 with
        ``align_corners=True`` puts fine ``j`` exactly at coarse ``j / 2``."""
        h, w = u.shape[-2:]
        u = F.pad(u, (0, 1, 0, 1), mode="constant" if self.padding_mode == "zeros" else self.padding_mode)
        up = F.interpolate(u, size=(2 * h + 1, 2 * w + 1), mode="bilinear", align_corners=True)
        return up[..., : size[0], : size[1]]

    def forward(self, u: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if self.kind == "bilinear":
            return self.conv(self.interpolate(u, size))
        if self.padding_mode == "zeros":
            out = self.conv(u)
        else:  # pad 1 coarse cell in the boundary's mode; that widens the output by 3 fine cells per side
            out = self.conv(F.pad(u, (1, 1, 1, 1), mode=self.padding_mode))[..., 3:-3, 3:-3]
        return out[..., : size[0], : size[1]]


class MgConv(nn.Module):
    """One multi-channel V-cycle: (B, f_channels, H, W) -> (B, u_channels, H, W).

    Parameters
    ----------
    f_channels, u_channels : channels of the right-hand side and of the solution.
    smoothing : per level ``[pre, post]`` step counts (finest first); its length is the number of levels.
    padding_mode : ``"zeros"``, ``"circular"`` or ``"reflect"``.
    use_res : restrict the residual ``f - A u`` (adds one ``A`` per level) instead of ``f``.
    prolongation : ``"transposed"`` (the paper's 4x4 stride-2 transposed conv) or ``"bilinear"``
        (bilinear interpolation + 3x3 conv); see :class:`Prolongation`.
    """

    def __init__(self, f_channels: int, u_channels: int, smoothing: Sequence[Sequence[int]],
                 padding_mode: str = "zeros", use_res: bool = False, prolongation: str = "transposed"):
        super().__init__()
        if padding_mode not in ("zeros", "circular", "reflect"):
            raise ValueError(f"padding_mode must be 'zeros', 'circular' or 'reflect', got {padding_mode!r}")
        self.smoothing = [list(map(int, s)) for s in smoothing]
        self.use_res = use_res

        def conv(ci, co, stride=1):
            return nn.Conv2d(ci, co, 3, stride=stride, padding=1, bias=False, padding_mode=padding_mode)

        self.pre_A, self.pre_S, self.post_A, self.post_S = (nn.ModuleList() for _ in range(4))
        for level, (pre, post) in enumerate(self.smoothing):
            first_has_A = level > 0  # on the finest level the first step starts from u = 0
            self.pre_A.append(nn.ModuleList(conv(u_channels, f_channels) for i in range(pre) if i > 0 or first_has_A))
            self.pre_S.append(nn.ModuleList(conv(f_channels, u_channels) for _ in range(pre)))
            self.post_A.append(nn.ModuleList(conv(u_channels, f_channels) for _ in range(post)))
            self.post_S.append(nn.ModuleList(conv(f_channels, u_channels) for _ in range(post)))
        n = len(self.smoothing) - 1
        self.Pi = nn.ModuleList(conv(u_channels, u_channels, 2) for _ in range(n))
        self.R = nn.ModuleList(conv(f_channels, f_channels, 2) for _ in range(n))
        self.res_A = nn.ModuleList(conv(u_channels, f_channels) for _ in range(n)) if use_res else None
        self.P = nn.ModuleList(Prolongation(u_channels, padding_mode, prolongation) for _ in range(n))

    @staticmethod
    def _smooth(u, f, A_list, S_list):
        offset = len(S_list) - len(A_list)  # 1 when the first step is u = S f
        for i, S in enumerate(S_list):
            u = S(f) if (i < offset or u is None) else u + S(f - A_list[i - offset](u))
        return u

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        us, fs, u = [], [], None
        for level in range(len(self.smoothing)):
            u = self._smooth(u, f, self.pre_A[level], self.pre_S[level])
            us.append(u), fs.append(f)
            if level < len(self.smoothing) - 1:
                f = self.R[level](f - self.res_A[level](u) if self.use_res else f)
                u = self.Pi[level](u)
        u = us[-1]
        for level in range(len(self.smoothing) - 2, -1, -1):
            fine = us[level]
            u = fine + self.P[level](u, fine.shape[-2:])
            if self.post_S[level]:
                u = self._smooth(u, fs[level], self.post_A[level], self.post_S[level])
        return u
