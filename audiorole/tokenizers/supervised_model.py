"""The supervised tokenizer's trainable part: GLM-4-Voice's WhisperVQ recipe at small size.

GLM-4-Voice puts average pooling ×4 and a VQ codebook inside Whisper's encoder and trains
them with Whisper's ASR loss, so its 12.5 Hz codes carry the words. The offline face keeps
the shipped Whisper tiny.en encoder frozen (CTranslate2 exposes no gradient, and its frames
can be computed once) and trains what sits on top of it:

    encoder frames (50 Hz, 384) → LayerNorm → Linear → average pooling ×4 (12.5 Hz)
      → Linear down to the code space → VQ codebook (nearest code, EMA)          = the tokenizer
      → CTC head (residual convolutions, characters)                           = the ASR loss

Only the part above the line is shipped (``SupervisedTokenizer`` runs it in numpy); the CTC
head exists to train it. Names follow the module's role: ``norm``, ``proj``, ``down``,
``vq.codebook`` are what the artifact stores.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorole.tokenizers.ctc_head import CTCHead
from audiorole.tokenizers.vq import VectorQuantizer
from audiorole.tokenizers.whisper_encoder import POOL


class Quantizer(nn.Module):
    """Encoder frames → codes (the shipped part)."""

    def __init__(self, codebook_size: int, input_size: int = 384, hidden_size: int = 256, code_size: int = 64):
        super().__init__()
        self.norm = nn.LayerNorm(input_size)
        self.proj = nn.Linear(input_size, hidden_size)
        self.down = nn.Linear(hidden_size, code_size)
        self.vq = VectorQuantizer(codebook_size, code_size)

    def continuous(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 4·T, input) frames at 50 Hz → (B, T, code_size) pre-quantisation vectors at 12.5 Hz."""
        h = self.proj(self.norm(frames))
        h = h.view(h.shape[0], h.shape[1] // POOL, POOL, h.shape[2]).mean(2)
        return self.down(h)


class SupervisedVQ(nn.Module):
    """Quantizer + the CTC head it is trained through."""

    def __init__(self, codebook_size: int, input_size: int = 384, hidden_size: int = 256, code_size: int = 64,
                 head_size: int = 256, head_layers: int = 4):
        super().__init__()
        self.quantizer = Quantizer(codebook_size, input_size, hidden_size, code_size)
        self.head = CTCHead(code_size, head_size, head_layers)

    def forward(self, frames: torch.Tensor, lengths: torch.Tensor, quantise: bool = True):
        """→ (CTC log-probs, codes (B, T) or None, commitment loss). ``quantise=False`` is the warm-up
        before the codebook is initialised: the head reads the continuous vectors."""
        z = self.quantizer.continuous(frames)
        mask = torch.arange(z.shape[1], device=z.device)[None] < lengths[:, None]
        codes, commitment = None, z.new_zeros(())
        if quantise:
            q, index, commitment = self.quantizer.vq(z[mask])
            z = z.masked_scatter(mask[..., None], q)
            codes = torch.zeros(mask.shape, dtype=torch.long, device=z.device).masked_scatter(mask, index)
        return self.head(z, lengths), codes, commitment
