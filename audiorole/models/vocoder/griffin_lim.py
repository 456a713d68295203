"""Griffin-Lim: the no-training fallback with ``Vocoder``'s call signature.

A thin module around ``audiorole.audio.mel.griffin_lim``, which inverts that
module's own mel definition (deterministic zero-phase start). Worse and slower
than a trained vocoder (docs/design.md §10), but needs no weights.
"""

from __future__ import annotations

import torch

from audiorole.audio.mel import griffin_lim

from .mel import MelConfig
from .vocoder import mel_batch


class GriffinLimVocoder(torch.nn.Module):
    """Log-mel ``(n_mels, T)`` / ``(B, n_mels, T)`` -> wave ``(T * hop,)`` / ``(B, T * hop)``."""

    def __init__(self, mel_config: MelConfig | None = None, n_iter: int = 32):
        super().__init__()
        self.mel_config = mel_config or MelConfig()
        self.n_iter = n_iter

    @property
    def sample_rate(self) -> int:
        return self.mel_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.mel_config.hop_length

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        cfg = self.mel_config
        mel_batch(mel)  # same shape contract as Vocoder
        return griffin_lim(
            mel.float(),
            n_iter=self.n_iter,
            sample_rate=cfg.sample_rate,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            fmin=cfg.fmin,
            fmax=cfg.fmax,
        )
