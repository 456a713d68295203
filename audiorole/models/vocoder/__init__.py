"""Acoustic stage vocoder (docs/design.md §3): HiFi-GAN in plain torch, plus a Griffin-Lim fallback.

mel.py             the one log-mel definition (22050 Hz, n_fft 1024, hop 256, 80 mels, 0–8 kHz)
generator.py       HiFi-GAN generator and size presets (tiny, v1, v3)
discriminators.py  multi-period and multi-scale discriminators
losses.py          LSGAN, feature matching, mel L1, and the 1 / 2 / 45 weighted total
vocoder.py         Vocoder: artifact save/load, public-checkpoint loading, mel -> wave
universal.py       the pinned pretrained HiFi-GAN V1 universal (the demo's default vocoder)
griffin_lim.py     GriffinLimVocoder: the same call, no weights
"""

from .discriminators import HifiganDiscriminator, MultiPeriodDiscriminator, MultiScaleDiscriminator
from .generator import PRESETS, Generator, GeneratorConfig, count_parameters
from .griffin_lim import GriffinLimVocoder
from .losses import (
    MelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    generator_loss_total,
    mel_l1_loss,
)
from .mel import LogMel, MelConfig
from .vocoder import Vocoder

__all__ = [
    "PRESETS",
    "Generator",
    "GeneratorConfig",
    "GriffinLimVocoder",
    "HifiganDiscriminator",
    "LogMel",
    "MelConfig",
    "MelLoss",
    "MultiPeriodDiscriminator",
    "MultiScaleDiscriminator",
    "Vocoder",
    "count_parameters",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "generator_loss_total",
    "mel_l1_loss",
]
