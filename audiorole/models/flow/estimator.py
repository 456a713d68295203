"""Vector-field estimator v(x_t, mu, cond, t): a 1-D U-Net of residual conv + transformer blocks.

Shaped like CosyVoice's ``ConditionalDecoder`` (down / mid / up levels with skip
concatenation, sinusoidal time embedding through an MLP, conv + attention per level) with
two changes: no temporal down-sampling (odd lengths need no padding tricks) and per-frame
channel norms instead of GroupNorm, so a padded batch gives what each item gives alone.
There is no speaker input: the voice lives in the weights.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorole.models.flow.layers import ChannelNorm, TransformerBlock, sinusoid


class ConvNormAct(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, padding=kernel // 2)
        self.norm = ChannelNorm(cout)
        self.act = nn.Mish()

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x * keep))) * keep


class ResBlock(nn.Module):
    """Two conv blocks with the time embedding added in between (as in Grad-TTS / Matcha / CosyVoice)."""

    def __init__(self, cin: int, cout: int, time_dim: int):
        super().__init__()
        self.block1 = ConvNormAct(cin, cout)
        self.time = nn.Sequential(nn.Mish(), nn.Linear(time_dim, cout))
        self.block2 = ConvNormAct(cout, cout)
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, keep, t_emb):
        h = self.block1(x, keep) + self.time(t_emb).unsqueeze(-1)
        return (self.block2(h, keep) + self.skip(x)) * keep


class Level(nn.Module):
    """ResBlock, then ``n_attn`` transformer blocks, then a conv (where the U-Net would resample)."""

    def __init__(self, cin, cout, time_dim, n_attn, heads, head_dim, ff_mult, dropout, out_conv=True):
        super().__init__()
        self.res = ResBlock(cin, cout, time_dim)
        self.attn = nn.ModuleList(TransformerBlock(cout, heads, ff_mult, dropout, head_dim) for _ in range(n_attn))
        self.out = nn.Conv1d(cout, cout, 3, padding=1) if out_conv else None

    def forward(self, x, keep, mask, t_emb):
        x = self.res(x, keep, t_emb).transpose(1, 2)
        for block in self.attn:
            x = block(x, mask)
        x = x.transpose(1, 2)
        skip = x
        if self.out is not None:
            x = self.out(x * keep) * keep
        return x, skip


class Estimator(nn.Module):
    def __init__(self, n_mels: int = 80, channels=(192,), n_attn: int = 1, mid_blocks: int = 2, heads: int = 4,
                 head_dim: int = 48, ff_mult: int = 4, dropout: float = 0.0):
        super().__init__()
        channels = [int(c) for c in channels]
        self.time_in = channels[0]
        time_dim = 4 * channels[0]
        self.time_mlp = nn.Sequential(nn.Linear(channels[0], time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        args = dict(time_dim=time_dim, n_attn=n_attn, heads=heads, head_dim=head_dim, ff_mult=ff_mult, dropout=dropout)
        cin = 3 * n_mels  # [x_t, mu, cond]
        self.down = nn.ModuleList()
        for c in channels:
            self.down.append(Level(cin, c, **args))
            cin = c
        self.mid = nn.ModuleList(Level(cin, cin, out_conv=False, **args) for _ in range(mid_blocks))
        self.up = nn.ModuleList()
        for c in reversed(channels):
            self.up.append(Level(cin + c, c, **args))
            cin = c
        self.final = ConvNormAct(cin, cin)
        self.proj = nn.Conv1d(cin, n_mels, 1)
        # linear path from the inputs: the OT velocity is close to linear in (x_t, mu), which a
        # small conv/attention stack otherwise takes many steps to learn
        self.linear = nn.Conv1d(3 * n_mels, n_mels, 1)
        self.linear_gain = nn.Linear(time_dim, n_mels)
        nn.init.zeros_(self.linear_gain.weight)
        nn.init.zeros_(self.linear_gain.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, mu: torch.Tensor, t: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        """x, mu, cond (B, n_mels, T); mask (B, T) bool; t (B,) in [0, 1] -> velocity (B, n_mels, T)."""
        keep = mask.unsqueeze(1).to(x.dtype)
        t_emb = self.time_mlp(sinusoid(t * 1000.0, self.time_in))  # ×1000: spread t over the sinusoid periods
        inp = torch.cat([x, mu, cond], dim=1)
        h = inp
        skips = []
        for level in self.down:
            h, skip = level(h, keep, mask, t_emb)
            skips.append(skip)
        for level in self.mid:
            h, _ = level(h, keep, mask, t_emb)
        for level in self.up:
            h, _ = level(torch.cat([h, skips.pop()], dim=1), keep, mask, t_emb)
        return (self.proj(self.final(h, keep)) + self.linear(inp) * torch.exp(self.linear_gain(t_emb)).unsqueeze(-1)) * keep
