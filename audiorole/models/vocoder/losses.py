"""HiFi-GAN losses (docs/design.md §3): least-squares GAN, feature matching, mel L1.

Sign conventions: the discriminator is trained to output 1 on real and 0 on
generated audio; the generator is trained to make it output 1. Every loss here
is non-negative and 0 at its optimum. Each adversarial / feature-matching loss
is a sum over sub-discriminators (and layers), as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from .mel import LogMel

FM_WEIGHT = 2.0
MEL_WEIGHT = 45.0


def discriminator_loss(real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ_k E[(1 - D_k(x))²] + E[D_k(G(s))²]; pass generated audio detached."""
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real_logits, fake_logits))


def generator_adversarial_loss(fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Σ_k E[(1 - D_k(G(s)))²]."""
    return sum(torch.mean((1 - f) ** 2) for f in fake_logits)


def feature_matching_loss(
    real_fmaps: Sequence[Sequence[torch.Tensor]], fake_fmaps: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    """Σ_k Σ_l E|D_k^l(x) - D_k^l(G(s))|, unweighted; real features are targets, so detached."""
    return sum(
        torch.mean(torch.abs(r.detach() - f))
        for real_k, fake_k in zip(real_fmaps, fake_fmaps)
        for r, f in zip(real_k, fake_k)
    )


def mel_l1_loss(mel_fake: torch.Tensor, mel_real: torch.Tensor) -> torch.Tensor:
    """L1 between log-mels, cropped to the shorter (a generated clip may overhang by a frame)."""
    n = min(mel_fake.shape[-1], mel_real.shape[-1])
    return F.l1_loss(mel_fake[..., :n], mel_real[..., :n])


class MelLoss(torch.nn.Module):
    """Waves in, mel L1 out, with the acoustic stage's one mel definition."""

    def __init__(self, mel: LogMel | None = None):
        super().__init__()
        self.mel = mel or LogMel()

    def forward(self, wave_fake: torch.Tensor, wave_real: torch.Tensor) -> torch.Tensor:
        n = min(wave_fake.shape[-1], wave_real.shape[-1])
        return mel_l1_loss(self.mel(wave_fake[..., :n]), self.mel(wave_real[..., :n]).detach())


def generator_loss_total(
    fake_logits: Sequence[torch.Tensor],
    real_fmaps: Sequence[Sequence[torch.Tensor]],
    fake_fmaps: Sequence[Sequence[torch.Tensor]],
    mel_fake: torch.Tensor,
    mel_real: torch.Tensor,
    fm_weight: float = FM_WEIGHT,
    mel_weight: float = MEL_WEIGHT,
) -> dict[str, torch.Tensor]:
    """adversarial + 2·feature matching + 45·mel; returns the unweighted parts and ``total``."""
    adv = generator_adversarial_loss(fake_logits)
    fm = feature_matching_loss(real_fmaps, fake_fmaps)
    mel = mel_l1_loss(mel_fake, mel_real.detach())
    return {"adv": adv, "fm": fm, "mel": mel, "total": adv + fm_weight * fm + mel_weight * mel}
