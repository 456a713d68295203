"""The estimator's transformer block: Matcha-TTS ``BasicTransformerBlock`` over diffusers' ``Attention``.

Names follow diffusers (``attn1.to_q``, ``attn1.to_out.0``, ``ff.net.0.proj``, ``ff.net.2``) so the
public weights load. One behaviour is kept on purpose: the estimator passes its 0/1 frame mask
to diffusers, which *adds* a float mask to the attention scores. Valid pairs get +1 and padding
+0, so padding is not excluded. The published weights were trained that way, so we reproduce it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, query_dim: int, heads: int, dim_head: int, dropout: float = 0.0, bias: bool = False):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner, bias=bias)
        self.to_k = nn.Linear(query_dim, inner, bias=bias)
        self.to_v = nn.Linear(query_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(dropout)])

    def forward(self, x: torch.Tensor, score_bias: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, C); score_bias (B, T, T) float, added to every head's scores."""
        b, t, _ = x.shape

        def heads(y):
            return y.view(b, t, self.heads, -1).transpose(1, 2)

        bias = None if score_bias is None else score_bias.unsqueeze(1).to(x.dtype)
        out = F.scaled_dot_product_attention(heads(self.to_q(x)), heads(self.to_k(x)), heads(self.to_v(x)),
                                             attn_mask=bias)
        out = out.transpose(1, 2).reshape(b, t, -1)
        return self.to_out[1](self.to_out[0](out))


class GELU(nn.Module):
    """diffusers' GELU: a projection then exact GELU (``ff.net.0.proj``)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.proj(x))


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0):
        super().__init__()
        self.net = nn.ModuleList([GELU(dim, dim * mult), nn.Dropout(dropout), nn.Linear(dim * mult, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.net:
            x = module(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-norm self-attention + GELU feed-forward (no cross-attention, plain LayerNorm: the estimator's use)."""

    def __init__(self, dim: int, num_attention_heads: int, attention_head_dim: int, dropout: float = 0.0,
                 activation_fn: str = "gelu"):
        super().__init__()
        if activation_fn != "gelu":
            raise ValueError(f"estimator act_fn {activation_fn!r} is not supported; GLM-4-Voice's decoder uses 'gelu'")
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, num_attention_heads, attention_head_dim, dropout)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dropout=dropout)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = hidden_states + self.attn1(self.norm1(hidden_states), attention_mask)
        return x + self.ff(self.norm3(x))
