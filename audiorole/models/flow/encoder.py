"""Token encoder + length regulator: 12.5 Hz speech tokens -> mel-rate features and the prior mel ``mu``.

Like CosyVoice's flow front end (embedding, transformer/conformer encoder, interpolating
length regulator, conv smoothing at the mel rate), but the regulation is done per item
so each utterance is stretched to its own frame count rather than to the batch maximum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from audiorole.models.flow.layers import ChannelNorm, TransformerBlock, lengths_to_mask, sinusoid


def frames_for_tokens(num_tokens, sample_rate: int = 22050, hop_length: int = 256, token_rate: float = 12.5):
    """Mel frames for ``num_tokens`` tokens: round(tokens * sr / hop / token_rate) (≈6.89 per token)."""
    ratio = sample_rate / hop_length / token_rate
    if isinstance(num_tokens, torch.Tensor):
        return torch.round(num_tokens.float() * ratio).long()
    return int(round(num_tokens * ratio))


def regulate(h: torch.Tensor, in_lens: torch.Tensor, out_lens: torch.Tensor, max_out: int | None = None) -> torch.Tensor:
    """Linearly interpolate each item's valid steps (B, T_in, C) to its own length -> (B, T_out, C), zero-padded."""
    max_out = int(out_lens.max()) if max_out is None else max_out
    out = h.new_zeros(h.shape[0], max_out, h.shape[-1])
    for i in range(h.shape[0]):  # batches are small; a loop keeps every item exact
        n_in, n_out = int(in_lens[i]), int(out_lens[i])
        if n_in > 0 and n_out > 0:
            seg = h[i, :n_in].T.unsqueeze(0)
            out[i, :n_out] = F.interpolate(seg, size=n_out, mode="linear", align_corners=False)[0].T
    return out


class TokenEncoder(nn.Module):
    def __init__(self, codebook_size: int, d_model: int = 192, layers: int = 3, heads: int = 4, ff_mult: int = 4,
                 dropout: float = 0.1, conv_kernel: int = 0, n_mels: int = 80, post_convs: int = 2):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(codebook_size, d_model)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, heads, ff_mult, dropout, conv_kernel=conv_kernel)
                                    for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        # conv smoothing at the mel rate: interpolation alone leaves token-boundary kinks
        self.post = nn.ModuleList(nn.Sequential(nn.Conv1d(d_model, d_model, 3, padding=1),
                                                ChannelNorm(d_model), nn.Mish()) for _ in range(post_convs))
        self.proj = nn.Linear(d_model, n_mels)

    def encode(self, tokens: torch.Tensor, token_lens: torch.Tensor) -> torch.Tensor:
        """(B, N) tokens -> (B, N, d_model) at the token rate."""
        mask = lengths_to_mask(token_lens, tokens.shape[1])
        pos = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.embed(tokens.clamp(min=0)) + sinusoid(pos, self.d_model)[None]
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x) * mask.unsqueeze(-1)

    def to_mel_rate(self, h: torch.Tensor, mel_lens: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) regulated features -> mu (B, n_mels, T), zero on padding."""
        keep = lengths_to_mask(mel_lens, h.shape[1]).unsqueeze(1).to(h.dtype)
        x = h.transpose(1, 2) * keep
        for conv in self.post:
            x = (x + conv(x)) * keep
        return self.proj(x.transpose(1, 2)).transpose(1, 2) * keep

    def forward(self, tokens: torch.Tensor, token_lens: torch.Tensor, mel_lens: torch.Tensor,
                max_frames: int | None = None) -> torch.Tensor:
        """Tokens (B, N) -> mu (B, n_mels, T) with T = max(mel_lens) unless ``max_frames``."""
        h = regulate(self.encode(tokens, token_lens), token_lens, mel_lens, max_frames)
        return self.to_mel_rate(h, mel_lens)
