"""Next-frame models that predict the increment over the last input frame (``next_frame_from_increment``).

``build_model("next_frame_from_increment", net={"name": "sinenet", "waves": 8, ...}, fields=F)`` wraps any
registered one-step model ``(B, h * F, ...) -> (B, F, ...)`` so that it predicts ``x_last + net(x)``. The
inner model is given as its registry config, so a checkpoint of the wrapper rebuilds it alone
(``load_model``, ``sciml evaluate``).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from sciml.errors import ConfigError
from sciml.models import build_model, register_model


@register_model("next_frame_from_increment")
class NextFrameFromIncrement(nn.Module):
    """A one-step model ``(B, h * F, ...) -> (B, F, ...)`` (frames stacked time-major, as
    :func:`sciml.evaluate.rollout.rollout` feeds them) that predicts the increment over the last input
    frame, its output layer zeroed so training starts at persistence: with a small budget, models that must
    reproduce the whole state stay near 100% error, and random initial increments of deep nets swamp the
    signal.

    ``net``: the inner model's registry config (``{"name": ..., **options}``); ``fields``: F, the fields
    per frame (the last F input channels are the last frame).
    """

    def __init__(self, net: dict[str, Any], fields: int = 1):
        super().__init__()
        if "name" not in net:
            raise ConfigError("next_frame_from_increment: net needs a 'name' (a registered model) and its options")
        self.net, self.fields = build_model(net["name"], **{k: v for k, v in net.items() if k != "name"}), fields
        last = [m for m in self.net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -self.fields:] + self.net(x)
