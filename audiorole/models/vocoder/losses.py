"""Vocoder GAN losses (docs/design.md §3): least-squares GAN, feature matching, mel L1, and HiFT's extras.

Sign conventions: the discriminator is trained to output 1 on real and 0 on
generated audio; the generator is trained to make it output 1. Every loss here
is non-negative and 0 at its optimum. Each adversarial / feature-matching loss
is a sum over sub-discriminators (and layers), as in the paper.

``VocoderObjective`` puts them together with a recipe's weights: HiFi-GAN's
1 / 2 / 45 by default; CosyVoice's HiFT recipe adds the truncated pointwise
relativistic loss (``tpr_loss``, both players) and an L1 loss of the
predicted F0 against an extracted track.
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


def tpr_loss(real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor], tau: float = 0.04) -> torch.Tensor:
    """Truncated pointwise relativistic loss (Σ_k, at most ``tau`` each).

    Penalises points where the generated audio scores above the real one by
    more than their median gap; the square of the excess is averaged and capped
    at ``tau`` so it cannot dominate.
    """
    total = 0.0
    for r, f in zip(real_logits, fake_logits):
        gap = r - f
        median = torch.median(gap)
        excess = ((gap - median) ** 2)[r < f + median]
        # An empty selection gives NaN in the reference; no such points means no penalty.
        mean = excess.mean() if excess.numel() else gap.new_zeros(())
        total = total + tau - F.relu(tau - mean)
    return total


class VocoderObjective:
    """A recipe's weighted losses for both GAN players.

    ``loss_mel``: mel settings (overrides of the vocoder's ``MelConfig``) for the
    mel L1 loss, both sides computed from waves; None compares the generated
    wave's mel with the input mel (HiFi-GAN). ``f0_weight`` > 0 needs a generator
    with an ``f0_predictor`` (HiFT).
    """

    def __init__(self, fm_weight: float = FM_WEIGHT, mel_weight: float = MEL_WEIGHT, tpr_weight: float = 0.0,
                 tpr_tau: float = 0.04, f0_weight: float = 0.0, loss_mel: dict | None = None):
        self.fm_weight, self.mel_weight = fm_weight, mel_weight
        self.tpr_weight, self.tpr_tau, self.f0_weight = tpr_weight, tpr_tau, f0_weight
        self.loss_mel = dict(loss_mel) if loss_mel else None

    def discriminator(self, real_logits, fake_logits) -> dict[str, torch.Tensor]:
        out = {"disc": discriminator_loss(real_logits, fake_logits)}
        out["total"] = out["disc"]
        if self.tpr_weight:
            out["tpr"] = tpr_loss(real_logits, fake_logits, self.tpr_tau)
            out["total"] = out["total"] + self.tpr_weight * out["tpr"]
        return out

    def generator(self, real_logits, fake_logits, real_fmaps, fake_fmaps, mel_fake: torch.Tensor,
                  mel_real: torch.Tensor, f0_fake: torch.Tensor | None = None,
                  f0_real: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out = generator_loss_total(fake_logits, real_fmaps, fake_fmaps, mel_fake, mel_real,
                                   self.fm_weight, self.mel_weight)
        if self.tpr_weight:
            # The same term as the discriminator's, as in the HiFTNet / CosyVoice recipe.
            out["tpr"] = tpr_loss([r.detach() for r in real_logits], fake_logits, self.tpr_tau)
            out["total"] = out["total"] + self.tpr_weight * out["tpr"]
        if self.f0_weight:
            out["f0"] = F.l1_loss(f0_fake, f0_real)
            out["total"] = out["total"] + self.f0_weight * out["f0"]
        return out
