"""Registered wrappers around registered models, so a wrapped model rebuilds from its checkpoint.

``decoded_output``: a field-to-field model followed by the target normaliser's decode. The network reads
normalised inputs and the wrapper returns fields in physical units, so a training loss (and the
evaluation) sees physical fields. This is the MgNO/FNO papers' set-up with pointwise statistics: a
Dirichlet wall, where the training targets never vary (std floored at eps), decodes to its training value
whatever the network outputs there.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from sciml.data.normalize import DecodedOutput, Normalizer, Normalizers
from sciml.errors import ConfigError
from sciml.models import build_model, register_model


@register_model("decoded_output")
class DecodedOutputModel(DecodedOutput):
    """``net`` (a registered model, given as ``{"name": ..., **options}``) followed by a decode.

    ``stat_shape`` is the shape of the decode statistics ``mean``/``std`` (buffers, filled by
    :meth:`set_statistics` before training and restored from the ``state_dict`` on load):
    ``(C, H, W)`` for pointwise statistics of ``C`` target variables on an ``H x W`` grid, ``(C, 1, 1)``
    for one mean/std per variable. They broadcast over the ``(B, C, H, W)`` output.
    """

    def __init__(self, net: dict[str, Any], stat_shape: Sequence[int] = (1,)):
        if not isinstance(net, dict) or "name" not in net:
            raise ConfigError(f"decoded_output: net must be a model section with a 'name', got {net!r}")
        inner = build_model(net["name"], **{k: v for k, v in net.items() if k != "name"})
        shape = tuple(int(s) for s in stat_shape)
        super().__init__(inner, Normalizer(torch.zeros(shape), torch.ones(shape)))

    @torch.no_grad()
    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> "DecodedOutputModel":
        """Copy the decode statistics in (shapes must equal ``stat_shape``); returns the model."""
        for name, value in (("mean", mean), ("std", std)):
            buf = getattr(self, name)
            if tuple(value.shape) != tuple(buf.shape):
                raise ConfigError(f"decoded_output: {name} has shape {tuple(value.shape)}, the model was built for "
                                  f"{tuple(buf.shape)} (stat_shape)")
            buf.copy_(value)
        return self


def target_statistics(norms: Normalizers, targets: Sequence[str], spatial_ndim: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` of the ``targets``' normalisers stacked along a channel axis, for
    :class:`DecodedOutputModel`: ``(C, *grid)`` when pointwise, ``(C, 1, ..., 1)`` when scalar.
    A target without a normaliser decodes as the identity (mean 0, std 1)."""
    if not targets:
        raise ConfigError("decoded_output needs at least one target variable")
    stats = [norms.get(t, Normalizer()) for t in targets]
    grids = {tuple(torch.as_tensor(s.mean).shape) for s in stats if s.pointwise}
    if len(grids) > 1:
        raise ConfigError(f"targets {list(targets)} have pointwise statistics on different grids {sorted(grids)}")
    grid = grids.pop() if grids else (1,) * spatial_ndim

    def stack(attr: str) -> torch.Tensor:
        return torch.stack([torch.as_tensor(getattr(s, attr), dtype=torch.float64).expand(grid) for s in stats])

    return stack("mean").float(), stack("std").float()


def decoded_output(net: dict[str, Any], norms: Normalizers, targets: Sequence[str],
                   spatial_ndim: int) -> DecodedOutputModel:
    """Build ``net`` wrapped in a :class:`DecodedOutputModel` holding the targets' decode statistics."""
    mean, std = target_statistics(norms, targets, spatial_ndim)
    model = build_model("decoded_output", net=dict(net), stat_shape=list(mean.shape))
    return model.set_statistics(mean, std)


def wrapped_model_name(model_section: dict[str, Any]) -> str:
    """The name of the model that does the work: a checkpoint's ``{"name": ..., "config": ...}`` section, with a
    ``decoded_output`` wrapper looked through to the network it wraps."""
    name = model_section.get("name", "?")
    if name == "decoded_output":
        return str((model_section.get("config") or {}).get("net", {}).get("name", name))
    return str(name)


__all__ = ["DecodedOutputModel", "decoded_output", "target_statistics", "wrapped_model_name"]
