"""Transformer pieces shared by the token encoder and the vector-field estimator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoid(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """(...,) float positions or times -> (..., dim) sin/cos features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    args = positions.float().unsqueeze(-1) * freqs
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    return F.pad(emb, (0, dim % 2))


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool, True on valid steps."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.head_dim = head_dim or dim // heads
        inner = self.heads * self.head_dim
        self.qkv = nn.Linear(dim, 3 * inner)
        self.out = nn.Linear(inner, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn_mask = None if mask is None else mask[:, None, None, :]  # keys only: padded queries stay finite
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, -1))


class TransformerBlock(nn.Module):
    """Pre-norm block; ``conv_kernel`` > 0 adds a depthwise conv (conformer-lite) for local context."""

    def __init__(self, dim: int, heads: int, ff_mult: int = 4, dropout: float = 0.0,
                 head_dim: int | None = None, conv_kernel: int = 0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, head_dim, dropout)
        self.conv = None
        if conv_kernel:
            self.norm_c = nn.LayerNorm(dim)
            self.conv = nn.Conv1d(dim, dim, conv_kernel, padding=conv_kernel // 2, groups=dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(ff_mult * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x (B, T, dim), mask (B, T) bool."""
        keep = 1.0 if mask is None else mask.unsqueeze(-1).to(x.dtype)
        x = x + self.drop(self.attn(self.norm1(x), mask))
        if self.conv is not None:
            # zero the padding first so the conv never reads it
            h = (self.norm_c(x) * keep).transpose(1, 2)
            x = x + self.drop(F.silu(self.conv(h)).transpose(1, 2))
        x = x + self.drop(self.ff(self.norm2(x)))
        return x * keep


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over channels of (B, C, T): per frame, so padding never leaks into statistics
    (GroupNorm would make a padded batch differ from the same items run alone)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)
