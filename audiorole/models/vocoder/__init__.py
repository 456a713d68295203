"""Acoustic stage vocoders (docs/design.md §3): HiFi-GAN and GLM-4-Voice's HiFT in plain torch, plus Griffin-Lim.

mel.py             the one log-mel definition (22050 Hz, n_fft 1024, hop 256, 80 mels, 0–8 kHz)
generator.py       HiFi-GAN generator and size presets (tiny, v1, v3)
hift.py            HiFT, GLM-4-Voice's vocoder (NSF source + iSTFT head); presets tiny, glm4voice
f0_predictor.py    HiFT's F0 predictor (mel -> Hz)
nsf_source.py      HiFT's harmonic sine source (SineGen, SourceModuleHnNSF)
snake.py           Snake activation and HiFT's Snake residual block
hift_checkpoint.py HiFT weights in the public layout (hift.pt + config.yaml): strict load, save
discriminators.py  multi-period and multi-scale discriminators
resolution_discriminator.py  multi-resolution discriminator; HiFT's MPD + MRD
losses.py          LSGAN, feature matching, mel L1, TPR; VocoderObjective (HiFi-GAN / HiFT recipes)
vocoder.py         Vocoder: artifact save/load, public-checkpoint loading, mel -> wave
universal.py       the pinned pretrained HiFi-GAN V1 universal (the demo's default vocoder)
griffin_lim.py     GriffinLimVocoder: the same call, no weights
"""

from .discriminators import HifiganDiscriminator, MultiPeriodDiscriminator, MultiScaleDiscriminator
from .generator import PRESETS, Generator, GeneratorConfig, count_parameters
from .griffin_lim import GriffinLimVocoder
from .hift import HIFT_PRESETS, HiFTConfig, HiFTGenerator
from .hift_checkpoint import load_hift, save_hift
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
    "HIFT_PRESETS",
    "HiFTConfig",
    "HiFTGenerator",
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
    "load_hift",
    "mel_l1_loss",
    "save_hift",
]
