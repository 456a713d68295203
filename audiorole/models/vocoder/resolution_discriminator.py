"""Multi-resolution (complex-spectrogram) discriminator, and HiFT's discriminator: MPD + MRD.

CosyVoice trains HiFT against HiFi-GAN's multi-period discriminator and a
multi-resolution discriminator in the style of DAC / Vocos: for each STFT
size, the complex spectrogram (real and imaginary parts as two channels) of
the DC-removed, peak-normalised wave is cut into frequency bands, each band
goes through its own 2-D conv stack, and the bands are joined for a last
conv. Same call convention as ``discriminators.py``: ``wave (B, 1, T) ->
(logits, fmaps)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from .discriminators import LRELU_SLOPE, MPD_CHANNELS, MultiPeriodDiscriminator, Output, scaled

FFT_SIZES = (2048, 1024, 512)
BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
MRD_CHANNELS = 32


class ResolutionDiscriminator(nn.Module):
    def __init__(self, window_length: int, channels: int = MRD_CHANNELS, hop_factor: float = 0.25,
                 bands: tuple[tuple[float, float], ...] = BANDS):
        super().__init__()
        self.window_length, self.hop_length = window_length, int(window_length * hop_factor)
        bins = window_length // 2 + 1
        self.bands = [(int(lo * bins), int(hi * bins)) for lo, hi in bands]
        self.register_buffer("window", torch.hann_window(window_length), persistent=False)

        def stack() -> nn.ModuleList:
            # (kernel over time × frequency, stride along frequency) per layer
            shapes = [((3, 9), 1, 2), ((3, 9), 2, channels), ((3, 9), 2, channels), ((3, 9), 2, channels),
                      ((3, 3), 1, channels)]
            return nn.ModuleList(
                weight_norm(nn.Conv2d(c_in, channels, k, (1, s), padding=(k[0] // 2, k[1] // 2))) for k, s, c_in in shapes
            )

        self.band_convs = nn.ModuleList(stack() for _ in self.bands)
        self.conv_post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def spectrogram_bands(self, wave: torch.Tensor) -> list[torch.Tensor]:
        wave = wave - wave.mean(dim=-1, keepdim=True)
        wave = 0.8 * wave / (wave.abs().amax(dim=-1, keepdim=True) + 1e-9)  # loudness must not decide
        spec = torch.stft(wave, self.window_length, self.hop_length, window=self.window, return_complex=True)
        x = torch.view_as_real(spec).permute(0, 3, 2, 1)  # (B, 2, frames, bins)
        return [x[..., lo:hi] for lo, hi in self.bands]

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmaps, outs = [], []
        for band, convs in zip(self.spectrogram_bands(wave.squeeze(1)), self.band_convs):
            for i, conv in enumerate(convs):
                band = F.leaky_relu(conv(band), LRELU_SLOPE)
                if i:  # the first layer's output is not matched (as in the reference recipe)
                    fmaps.append(band)
            outs.append(band)
        x = self.conv_post(torch.cat(outs, dim=-1))
        fmaps.append(x)
        return x.flatten(1), fmaps


class MultiResolutionDiscriminator(nn.Module):
    def __init__(self, fft_sizes: tuple[int, ...] = FFT_SIZES, channels: int = MRD_CHANNELS):
        super().__init__()
        self.discriminators = nn.ModuleList(ResolutionDiscriminator(n, channels) for n in fft_sizes)

    def forward(self, wave: torch.Tensor) -> Output:
        outs = [d(wave) for d in self.discriminators]
        return [o[0] for o in outs], [o[1] for o in outs]


class HiftDiscriminator(nn.Module):
    """MPD and MRD together (CosyVoice's HiFT recipe); ``width`` scales every channel count."""

    def __init__(self, width: float = 1.0, periods: tuple[int, ...] = (2, 3, 5, 7, 11),
                 fft_sizes: tuple[int, ...] = FFT_SIZES):
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(tuple(periods), scaled(MPD_CHANNELS, width))
        self.mrd = MultiResolutionDiscriminator(tuple(fft_sizes), scaled((MRD_CHANNELS,), width)[0])

    def forward(self, wave: torch.Tensor) -> Output:
        p_logits, p_fmaps = self.mpd(wave)
        r_logits, r_fmaps = self.mrd(wave)
        return p_logits + r_logits, p_fmaps + r_fmaps
