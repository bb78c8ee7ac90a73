"""The `neuraloperator` package's FNO as a peer baseline (``pip install 'sciml[bench]'``)."""
from __future__ import annotations

import torch
import torch.nn as nn

from sciml.models import register_model
from sciml.utils import require


@register_model("fno_neuralop")
class NeuralopFNO(nn.Module):
    """Wraps ``neuralop.models.FNO`` (2-D): (B, in_channels, H, W) -> (B, out_channels, H, W).

    ``domain_padding`` is neuraloperator's fractional padding (use > 0 for non-periodic problems).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, n_modes: int = 12, hidden_channels: int = 32,
                 n_layers: int = 4, domain_padding: float = 0.0):
        super().__init__()
        neuralop = require("neuralop", extra="bench", package="neuraloperator")
        self.net = neuralop.models.FNO(n_modes=(n_modes, n_modes), in_channels=in_channels, out_channels=out_channels,
                                       hidden_channels=hidden_channels, n_layers=n_layers,
                                       domain_padding=domain_padding or None, positional_embedding="grid")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.float())

    def state_dict(self, *args, **kwargs):
        """The weights only: neuraloperator adds a ``_metadata`` entry holding its constructor arguments
        (functions among them), which a sciml checkpoint cannot hold; the model's config rebuilds them."""
        state = super().state_dict(*args, **kwargs)
        state.pop("_metadata", None)
        return state
