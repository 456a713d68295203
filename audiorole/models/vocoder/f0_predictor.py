"""HiFT's F0 predictor: mel frames -> F0 in Hz, one value per frame.

Five weight-normed 3-tap convs with ELU (``condnet.0/2/4/6/8``), a linear
head (``classifier``) and an absolute value so F0 is never negative; the
names are the public checkpoint's (``ConvRNNF0Predictor``). In training it is
fitted by an L1 loss to an extracted F0 track (``audiorole.audio.pitch``),
since the sine source it drives passes no gradient back to it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

N_CONVS = 5


class ConvRNNF0Predictor(nn.Module):
    def __init__(self, num_class: int = 1, in_channels: int = 80, cond_channels: int = 512):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(N_CONVS):
            c_in = in_channels if i == 0 else cond_channels
            layers += [weight_norm(nn.Conv1d(c_in, cond_channels, 3, padding=1)), nn.ELU()]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(cond_channels, num_class)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, T) -> (B, T) F0 in Hz (with ``num_class`` 1)."""
        h = self.condnet(mel).transpose(1, 2)
        return self.classifier(h).squeeze(-1).abs()
