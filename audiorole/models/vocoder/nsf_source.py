"""HiFT's neural-source-filter excitation: F0 -> a harmonic sine source (hn-NSF).

``SineGen`` turns a sample-rate F0 track into the fundamental and its
harmonics: each harmonic's phase is the running sum of its normalised
frequency (wrapped to [0, 1) so float32 keeps its precision over long clips),
harmonics above the fundamental start at a random phase, unvoiced samples
(F0 ≤ threshold) carry noise only. ``SourceModuleHnNSF`` merges the
harmonics into one excitation with a learned linear mix and tanh
(``m_source.l_linear``, the public checkpoint's name).

Randomness (phases, noise) can be passed in, so a run can be reproduced
exactly or replayed against another implementation.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SineGen(nn.Module):
    def __init__(self, sampling_rate: int, harmonic_num: int = 0, sine_amp: float = 0.1, noise_std: float = 0.003,
                 voiced_threshold: float = 0.0):
        super().__init__()
        self.sampling_rate = sampling_rate
        self.harmonic_num = harmonic_num
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold

    def random_inputs(self, batch: int, samples: int, generator: torch.Generator | None = None,
                      device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(phase (B, H+1, 1) uniform in [-π, π) with the fundamental's at 0, noise (B, H+1, T) ~ N(0, 1))."""
        n = self.harmonic_num + 1
        phase = (torch.rand(batch, n, 1, generator=generator, device=device) * 2 - 1) * math.pi
        phase[:, 0] = 0
        noise = torch.randn(batch, n, samples, generator=generator, device=device)
        return phase, noise

    @torch.no_grad()
    def forward(self, f0: torch.Tensor, phase: torch.Tensor | None = None,
                noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """f0 (B, 1, T) in Hz -> (sines (B, H+1, T), uv (B, 1, T))."""
        if phase is None or noise is None:
            phase, noise = self.random_inputs(f0.shape[0], f0.shape[-1], device=f0.device)
        harmonics = torch.arange(1, self.harmonic_num + 2, device=f0.device, dtype=f0.dtype)[None, :, None]
        cycles = torch.cumsum(f0 * harmonics / self.sampling_rate, dim=-1) % 1
        sines = self.sine_amp * torch.sin(2 * math.pi * cycles + phase)
        uv = (f0 > self.voiced_threshold).to(f0.dtype)
        # Voiced: a faint noise floor; unvoiced: noise about as loud as the sine would be.
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        return sines * uv + noise_amp * noise, uv


class SourceModuleHnNSF(nn.Module):
    def __init__(self, sampling_rate: int, harmonic_num: int = 0, sine_amp: float = 0.1, add_noise_std: float = 0.003,
                 voiced_threshold: float = 0.0):
        super().__init__()
        self.l_sin_gen = SineGen(sampling_rate, harmonic_num, sine_amp, add_noise_std, voiced_threshold)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)

    def forward(self, f0: torch.Tensor, phase: torch.Tensor | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        """f0 (B, 1, T) in Hz at the sample rate -> excitation (B, 1, T) in [-1, 1]."""
        sines, _ = self.l_sin_gen(f0, phase, noise)
        return torch.tanh(self.l_linear(sines.transpose(1, 2))).transpose(1, 2)
