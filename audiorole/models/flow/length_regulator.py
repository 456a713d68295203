"""``InterpolateRegulator``: stretch token-rate features to the mel rate, then smooth them with convolutions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiorole.models.flow.masks import lengths_to_mask


class InterpolateRegulator(nn.Module):
    def __init__(self, channels: int = 80, sampling_ratios=(1, 1, 1, 1), out_channels: int | None = None,
                 groups: int = 1):
        super().__init__()
        layers = []
        for _ in sampling_ratios:  # the ratios only count the conv blocks; the stretch is by interpolation
            layers += [nn.Conv1d(channels, channels, 3, 1, 1), nn.GroupNorm(groups, channels), nn.Mish()]
        layers.append(nn.Conv1d(channels, out_channels or channels, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, ylens: torch.Tensor):
        """x (B, N, C) -> (B, max(ylens), C) masked beyond each ylens, and ylens.

        Nearest interpolation over the padded batch: items line up only when every item has the
        same frames-per-token ratio, as aligned token/mel pairs do.
        """
        mask = lengths_to_mask(ylens).to(x.dtype).unsqueeze(-1)
        x = F.interpolate(x.transpose(1, 2).contiguous(), size=int(ylens.max()), mode="nearest")
        return self.model(x).transpose(1, 2).contiguous() * mask, ylens
