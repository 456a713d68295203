"""The acoustic stage's mel: 80-bin log-mel at 22050 Hz, n_fft 1024, hop 256, fmax 8000.

Same recipe as HiFi-GAN / CosyVoice / GLM-4-Voice's decoder (docs/design.md §3): reflect-pad
(n_fft - hop) / 2 on each side, no centring, magnitude (not power) spectrum,
Slaney mel filters, natural log of clamp(min=1e-5). With that padding a clip of N
samples gives exactly N // hop frames. ``griffin_lim`` is the no-training vocoder
fallback: slow and buzzy next to a trained vocoder, but needs nothing fitted.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 22050
N_FFT = 1024
HOP_LENGTH = 256
N_MELS = 80
FMIN = 0.0
FMAX = 8000.0
LOG_FLOOR = 1e-5


def frames_for(num_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Mel frames that ``MelSpectrogram`` gives for ``num_samples`` samples."""
    return int(num_samples) // hop_length


def mel_filterbank(sample_rate=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) Slaney filters, equal to librosa's default ``mel`` filters."""
    import torchaudio.functional as AF

    return AF.melscale_fbanks(n_fft // 2 + 1, float(fmin), float(fmax), n_mels, sample_rate,
                              norm="slaney", mel_scale="slaney")


class MelSpectrogram(nn.Module):
    """Waveform (..., samples) -> log-mel (..., n_mels, samples // hop)."""

    def __init__(self, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
                 n_mels: int = N_MELS, fmin: float = FMIN, fmax: float = FMAX, win_length: int | None = None):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop_length = sample_rate, n_fft, hop_length
        self.win_length = win_length or n_fft
        self.n_mels, self.fmin, self.fmax = n_mels, fmin, fmax
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        self.register_buffer("fb", mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        lead = wave.shape[:-1]
        x = wave.reshape(-1, 1, wave.shape[-1]).float()
        pad = (self.n_fft - self.hop_length) // 2
        # reflect padding needs more samples than the pad; short clips fall back to zeros
        mode = "reflect" if x.shape[-1] > pad else "constant"
        x = F.pad(x, (pad, pad), mode=mode).squeeze(1)
        spec = torch.stft(x, self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                          window=self.window, center=False, return_complex=True)
        mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
        mel = torch.matmul(mag.transpose(-1, -2), self.fb).transpose(-1, -2)
        mel = torch.log(torch.clamp(mel, min=LOG_FLOOR))
        return mel.reshape(*lead, self.n_mels, mel.shape[-1])


_DEFAULT: MelSpectrogram | None = None


def mel_of(wave: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Numpy convenience: mono wave at ``sr`` -> (80, frames) float32 log-mel at 22050 Hz."""
    global _DEFAULT
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))
    if sr != SAMPLE_RATE:
        import torchaudio.functional as AF

        x = AF.resample(x, sr, SAMPLE_RATE)
    if _DEFAULT is None:
        _DEFAULT = MelSpectrogram()
    with torch.no_grad():
        return _DEFAULT(x).numpy()


def griffin_lim(mel, n_iter: int = 32, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT,
                hop_length: int = HOP_LENGTH, fmin: float = FMIN, fmax: float = FMAX, random_phase: bool = False):
    """Log-mel (..., n_mels, frames) -> waveform (..., frames * hop); same type as the input (numpy or torch)."""
    import torchaudio.transforms as T

    is_numpy = isinstance(mel, np.ndarray)
    m = torch.as_tensor(mel, dtype=torch.float32)
    n_mels, frames = m.shape[-2], m.shape[-1]
    inv = T.InverseMelScale(n_fft // 2 + 1, n_mels, sample_rate, fmin, fmax, norm="slaney", mel_scale="slaney")
    gl = T.GriffinLim(n_fft=n_fft, hop_length=hop_length, power=1.0, n_iter=n_iter, rand_init=random_phase)  # zero phase: deterministic
    with torch.no_grad():
        lin = inv(torch.exp(m))  # least-squares inverse of the filters, negatives clipped
        wave = gl(lin)  # centred frames: (frames - 1) * hop samples
    # Our analysis frame t is centred at t*hop + hop/2 (see MelSpectrogram's padding), the
    # centred ISTFT's at t*hop: shift by hop/2 and pad to frames * hop samples.
    lead = hop_length // 2
    wave = F.pad(wave, (lead, frames * hop_length - wave.shape[-1] - lead))
    return wave.numpy() if is_numpy else wave
