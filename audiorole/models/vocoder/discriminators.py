"""HiFi-GAN discriminators: multi-period (MPD) and multi-scale (MSD).

Each takes a wave ``(B, 1, T)`` and returns ``(logits, fmaps)``: one flattened
logit tensor ``(B, N_i)`` per sub-discriminator and, for each, the list of its
layer activations (for feature matching). Real and generated waves go through
separate calls so the discriminator step can detach the generated one.
Channel widths are arguments so a CPU-tiny version exists; the defaults are
the paper's.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

LRELU_SLOPE = 0.1

MPD_CHANNELS = (32, 128, 512, 1024, 1024)
MSD_CHANNELS = (128, 128, 256, 512, 1024, 1024, 1024)
MSD_GROUPS = (1, 4, 16, 16, 16, 16, 1)

Output = tuple[list[torch.Tensor], list[list[torch.Tensor]]]


def scaled(channels: tuple[int, ...], width: float) -> tuple[int, ...]:
    """Channel list at ``width`` × the paper's (e.g. 1/16 for a CPU-tiny model)."""
    return tuple(max(1, round(c * width)) for c in channels)


def conv_stack(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU conv layers then a post conv -> (flat logits, every layer's output as feature maps)."""
    fmaps = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        fmaps.append(x)
    x = post(x)
    fmaps.append(x)
    return x.flatten(1), fmaps


class PeriodDiscriminator(nn.Module):
    """Looks at every ``period``-th sample: the wave folded to ``(T / p, p)``, 2-D convs along time."""

    def __init__(self, period: int, channels: tuple[int, ...] = MPD_CHANNELS, kernel: int = 5, stride: int = 3):
        super().__init__()
        self.period = period
        layers, c_in = [], 1
        for i, c in enumerate(channels):
            s = stride if i < len(channels) - 1 else 1  # last layer keeps the resolution
            layers.append(weight_norm(nn.Conv2d(c_in, c, (kernel, 1), (s, 1), padding=((kernel - 1) // 2, 0))))
            c_in = c
        self.convs = nn.ModuleList(layers)
        self.conv_post = weight_norm(nn.Conv2d(c_in, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = x.shape
        if t % self.period:
            # Reflect-pad to a whole number of periods before folding.
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        return conv_stack(self.convs, self.conv_post, x.view(b, c, -1, self.period))


class ScaleDiscriminator(nn.Module):
    """Strided grouped 1-D convs over the raw (or average-pooled) wave."""

    def __init__(
        self,
        channels: tuple[int, ...] = MSD_CHANNELS,
        groups: tuple[int, ...] = MSD_GROUPS,
        use_spectral_norm: bool = False,
    ):
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        # (kernel, stride) per layer, as in the paper's MSD.
        shapes = [(15, 1), (41, 2), (41, 2), (41, 4), (41, 4), (41, 1), (5, 1)]
        if len(channels) != len(shapes) or len(groups) != len(shapes):
            raise ValueError(f"ScaleDiscriminator needs {len(shapes)} channels and groups")
        layers, c_in = [], 1
        for (k, s), c, g in zip(shapes, channels, groups):
            g = math.gcd(g, math.gcd(c_in, c))  # narrow widths: keep groups a divisor of both sides
            layers.append(norm(nn.Conv1d(c_in, c, k, s, groups=g, padding=(k - 1) // 2)))
            c_in = c
        self.convs = nn.ModuleList(layers)
        self.conv_post = norm(nn.Conv1d(c_in, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return conv_stack(self.convs, self.conv_post, x)


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), channels: tuple[int, ...] = MPD_CHANNELS):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, tuple(channels)) for p in periods)

    def forward(self, wave: torch.Tensor) -> Output:
        outs = [d(wave) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class MultiScaleDiscriminator(nn.Module):
    """Three scales: raw, ×2 and ×4 average-pooled; spectral norm on the raw one for stability."""

    def __init__(self, channels: tuple[int, ...] = MSD_CHANNELS, groups: tuple[int, ...] = MSD_GROUPS):
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(tuple(channels), tuple(groups), use_spectral_norm=(i == 0)) for i in range(3)
        )
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, wave: torch.Tensor) -> Output:
        logits, fmaps = [], []
        for i, d in enumerate(self.discriminators):
            if i:
                wave = self.pool(wave)
            lo, fm = d(wave)
            logits.append(lo)
            fmaps.append(fm)
        return logits, fmaps


class HifiganDiscriminator(nn.Module):
    """MPD and MSD together; ``width`` scales every channel count (1.0 = paper, 1/16 = CPU-tiny)."""

    def __init__(self, width: float = 1.0, periods: tuple[int, ...] = (2, 3, 5, 7, 11)):
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(tuple(periods), scaled(MPD_CHANNELS, width))
        self.msd = MultiScaleDiscriminator(scaled(MSD_CHANNELS, width), MSD_GROUPS)

    def forward(self, wave: torch.Tensor) -> Output:
        p_logits, p_fmaps = self.mpd(wave)
        s_logits, s_fmaps = self.msd(wave)
        return p_logits + s_logits, p_fmaps + s_fmaps
