"""A small CTC recognizer over 12.5 Hz frames: what reads characters out of speech tokens.

Two users: the supervised tokenizer trains its quantiser through this head (the ASR loss
that makes codes carry words, as WhisperVQ trains through Whisper's decoder), and the
token bound (``bench/token_bound.py``) trains one on codes alone to measure how much of
the words any decoder could recover from them.

Residual 1-D convolutions (pre-LayerNorm, GELU): every frame sees ±``layers·(kernel//2)``
neighbours (±1.3 s by default), and unlike a BiLSTM the whole sequence runs at once, which
is what makes training affordable on a CPU (3× faster per batch here). English speech runs at
~15 characters a second, above the 12.5 Hz frame rate, so each frame emits ``upsample`` CTC
steps (a linear layer's output reshaped), 50 a second.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorole.tokenizers.characters import N_LABELS


class ConvBlock(nn.Module):
    def __init__(self, size: int, kernel_size: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(size)
        self.conv = nn.Conv1d(size, size, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv((self.norm(x) * mask).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(nn.functional.gelu(h))


class CTCHead(nn.Module):
    def __init__(self, input_size: int, size: int = 256, layers: int = 4, kernel_size: int = 5, upsample: int = 4,
                 dropout: float = 0.1):
        super().__init__()
        self.upsample = upsample
        self.inp = nn.Linear(input_size, size)
        self.blocks = nn.ModuleList(ConvBlock(size, kernel_size, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(size)
        self.out = nn.Linear(size, upsample * N_LABELS)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T, input_size) frames → (B, upsample·T, N_LABELS) log-probabilities (padding masked out)."""
        mask = (torch.arange(x.shape[1], device=x.device)[None] < lengths.to(x.device)[:, None])[..., None].to(x.dtype)
        h = self.inp(x) * mask
        for block in self.blocks:
            h = block(h, mask)
        return self.out(self.norm(h)).view(x.shape[0], x.shape[1] * self.upsample, N_LABELS).log_softmax(-1)
