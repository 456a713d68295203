"""Snake activation and the Snake residual block of HiFT (BigVGAN-style).

Snake(x) = x + sin²(αx) / α with a learned α per channel: a periodic
inductive bias for waveforms. HiFT's residual blocks are HiFi-GAN's type-1
blocks with Snake in place of leaky ReLU. Module and parameter names
(``alpha``, ``convs1``/``convs2``, ``activations1``/``activations2``) are
the public HiFT checkpoint's.
"""

from __future__ import annotations

import torch
from torch import nn

from .generator import _conv, _padding

ALPHA_EPS = 1e-9  # keeps 1/α finite if a trained α reaches 0


class Snake(nn.Module):
    def __init__(self, channels: int, alpha: float = 1.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((channels,), float(alpha)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha[None, :, None]
        s = torch.sin(x * alpha)
        # 1/α on the (C,) vector, then one fused multiply-add over the activations: fewer full-size passes.
        return torch.addcmul(x, s * s, 1.0 / (alpha + ALPHA_EPS))


def _dilated(channels: int, kernel: int, dilation: int) -> nn.Module:
    return _conv(nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=_padding(kernel, dilation)))


class SnakeResBlock(nn.Module):
    """(Snake, dilated conv, Snake, conv) pairs with residuals; length preserving."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...] = (1, 3, 5)):
        super().__init__()
        self.convs1 = nn.ModuleList(_dilated(channels, kernel, d) for d in dilations)
        self.convs2 = nn.ModuleList(_dilated(channels, kernel, 1) for _ in dilations)
        self.activations1 = nn.ModuleList(Snake(channels) for _ in dilations)
        self.activations2 = nn.ModuleList(Snake(channels) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2, a1, a2 in zip(self.convs1, self.convs2, self.activations1, self.activations2):
            x = x + c2(a2(c1(a1(x))))
        return x
