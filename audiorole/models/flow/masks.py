"""Length and attention masks shared by the flow's encoder, regulator and estimator."""

from __future__ import annotations

import torch


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool, True on valid positions."""
    max_len = int(lengths.max()) if max_len is None else int(max_len)
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def block_causal_mask(length: int, block_size: int, device=None) -> torch.Tensor:
    """(T, T) bool: query i may see key j when j <= i or j is in i's own block of ``block_size``.

    That is, keys before the end of i's block: a block decodes once all its tokens are known.
    """
    pos = torch.arange(length, device=device)
    block_end = (pos // block_size + 1) * block_size
    return pos[None, :] < block_end[:, None]
