"""HiFT (HiFTNet: neural source filter + iSTFTNet), GLM-4-Voice's vocoder: 80-bin mel -> 22.05 kHz wave.

The path: an F0 predictor reads the mel; a harmonic sine source is built at
the sample rate from that F0 (``nsf_source.py``); its STFT is downsampled and
added at each upsampling stage of a HiFi-GAN-like stack with Snake residual
blocks; the last conv predicts an ``n_fft // 2 + 1`` log-magnitude and phase
spectrum that a small inverse STFT turns into the wave. Upsampling by 8 × 8 to
the STFT frame rate and by the iSTFT hop (4) gives the mel hop of 256.

Module and parameter names are the public ``hift.pt``'s (``m_source``,
``conv_pre``, ``ups``, ``source_downs``, ``source_resblocks``, ``resblocks``,
``conv_post``, ``f0_predictor``), and ``HiFTConfig``'s fields are the keyword
names of the ``hift`` entry in the decoder's ``config.yaml``, so the public
checkpoint loads with ``strict=True`` (see ``hift_checkpoint.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from torch.nn import functional as F
from .f0_predictor import ConvRNNF0Predictor
from .generator import _conv, fold_weight_norm, resolve_preset
from .nsf_source import SourceModuleHnNSF
from .snake import SnakeResBlock


def _tuple(v) -> tuple:
    return tuple(_tuple(x) if isinstance(x, (list, tuple)) else int(x) for x in v)


@dataclass(frozen=True)
class HiFTConfig:
    """Defaults are GLM-4-Voice's published vocoder (20.5 M parameters, 227 tensors)."""

    in_channels: int = 80
    base_channels: int = 512
    nb_harmonics: int = 8
    sampling_rate: int = 22050
    nsf_alpha: float = 0.1
    nsf_sigma: float = 0.003
    nsf_voiced_threshold: float = 10.0
    upsample_rates: tuple[int, ...] = (8, 8)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16)
    istft_params: dict = field(default_factory=lambda: {"n_fft": 16, "hop_len": 4})
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    source_resblock_kernel_sizes: tuple[int, ...] = (7, 11)
    source_resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5))
    lrelu_slope: float = 0.1
    audio_limit: float = 0.99
    f0_predictor: dict = field(default_factory=lambda: {"num_class": 1, "in_channels": 80, "cond_channels": 512})

    def __post_init__(self):
        for name in ("upsample_rates", "upsample_kernel_sizes", "resblock_kernel_sizes", "resblock_dilation_sizes",
                     "source_resblock_kernel_sizes", "source_resblock_dilation_sizes"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        object.__setattr__(self, "istft_params", {k: int(v) for k, v in dict(self.istft_params).items()})
        object.__setattr__(self, "f0_predictor", {k: int(v) for k, v in dict(self.f0_predictor).items()})
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("upsample_rates and upsample_kernel_sizes differ in length")
        if len(self.source_resblock_kernel_sizes) != len(self.upsample_rates):
            raise ValueError("one source resblock per upsampling stage: source_resblock_kernel_sizes has the wrong length")

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsample_rates) * self.istft_params["hop_len"]

    @property
    def num_mels(self) -> int:  # the name the Vocoder wrapper reads
        return self.in_channels

    @classmethod
    def from_dict(cls, d: dict) -> "HiFTConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        def plain(v):
            return [plain(x) for x in v] if isinstance(v, tuple) else v

        return {k: plain(v) for k, v in asdict(self).items()}


HIFT_PRESETS: dict[str, HiFTConfig] = {
    "glm4voice": HiFTConfig(),
    # CPU demo / tests: the same topology at 1/16 of the width (~0.1 M parameters).
    "tiny": HiFTConfig(base_channels=32, f0_predictor={"num_class": 1, "in_channels": 80, "cond_channels": 32}),
}


def resolve_hift_config(config: HiFTConfig | dict | str) -> HiFTConfig:
    return resolve_preset(config, HIFT_PRESETS, HiFTConfig)


class HiFTGenerator(nn.Module):
    """``forward``: mel (B, n_mels, T) -> wave (B, 1, T * 256); ``inference`` also returns the source."""

    def __init__(self, config: HiFTConfig | dict | str = "tiny"):
        super().__init__()
        self.config = cfg = resolve_hift_config(config)
        self.num_kernels = len(cfg.resblock_kernel_sizes)
        self.n_fft, self.istft_hop = cfg.istft_params["n_fft"], cfg.istft_params["hop_len"]
        self.m_source = SourceModuleHnNSF(cfg.sampling_rate, cfg.nb_harmonics, cfg.nsf_alpha, cfg.nsf_sigma,
                                          cfg.nsf_voiced_threshold)
        ch = cfg.base_channels
        spec_channels = self.n_fft + 2  # real and imaginary parts of n_fft // 2 + 1 bins
        self.conv_pre = _conv(nn.Conv1d(cfg.in_channels, ch, 7, padding=3), init=False)
        self.ups = nn.ModuleList(
            _conv(nn.ConvTranspose1d(ch // 2**i, ch // 2 ** (i + 1), k, u, padding=(k - u) // 2))
            for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes))
        )
        # The source's STFT enters every stage: strided convs bring it from the STFT frame rate to each
        # stage's rate (the last stage runs at that rate already: a 1×1 conv).
        self.source_downs = nn.ModuleList()
        self.source_resblocks = nn.ModuleList()
        stages = len(cfg.upsample_rates)
        for i, (k, d) in enumerate(zip(cfg.source_resblock_kernel_sizes, cfg.source_resblock_dilation_sizes)):
            rate = math.prod(cfg.upsample_rates[i + 1:]) if i + 1 < stages else 1
            c_out = ch // 2 ** (i + 1)
            if rate == 1:
                self.source_downs.append(nn.Conv1d(spec_channels, c_out, 1))
            else:
                self.source_downs.append(nn.Conv1d(spec_channels, c_out, rate * 2, rate, padding=rate // 2))
            self.source_resblocks.append(SnakeResBlock(c_out, k, d))
        self.resblocks = nn.ModuleList(
            SnakeResBlock(ch // 2 ** (i + 1), k, d)
            for i in range(stages)
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes)
        )
        self.conv_post = _conv(nn.Conv1d(ch // 2**stages, spec_channels, 7, padding=3))
        self.f0_predictor = ConvRNNF0Predictor(**cfg.f0_predictor)
        # Periodic Hann, as scipy's get_window("hann", n, fftbins=True); not a checkpoint tensor.
        self.register_buffer("stft_window", torch.hann_window(self.n_fft, periodic=True), persistent=False)
        self.has_weight_norm = True

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    # --- source ------------------------------------------------------------------------
    def source(self, f0: torch.Tensor, phase: torch.Tensor | None = None,
               noise: torch.Tensor | None = None) -> torch.Tensor:
        """Frame-rate F0 (B, T) -> excitation (B, 1, T * hop), F0 held constant over each frame."""
        f0 = f0[:, None].repeat_interleave(self.hop_length, dim=-1)
        return self.m_source(f0, phase, noise)

    # --- filter ------------------------------------------------------------------------
    def _stft(self, wave: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(wave, self.n_fft, self.istft_hop, self.n_fft, window=self.stft_window, return_complex=True)
        return torch.cat([spec.real, spec.imag], dim=1)

    def _istft(self, log_magnitude: torch.Tensor, phase_logits: torch.Tensor) -> torch.Tensor:
        magnitude = torch.exp(log_magnitude).clamp(max=1e2)
        phase = torch.sin(phase_logits)  # the public model's (redundant) squashing, kept for its weights
        spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        return torch.istft(spec, self.n_fft, self.istft_hop, self.n_fft, window=self.stft_window)

    def decode(self, mel: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """mel (B, n_mels, T) and excitation (B, 1, T * hop) -> wave (B, T * hop) in ±audio_limit."""
        cfg = self.config
        s = self._stft(source.squeeze(1))
        x = self.conv_pre(mel)
        last = len(self.ups) - 1
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, cfg.lrelu_slope))
            if i == last:
                x = F.pad(x, (1, 0), mode="reflect")  # one frame more: the STFT's centred frame count
            x = x + self.source_resblocks[i](self.source_downs[i](s))
            branches = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            xs = branches[0](x)
            for b in branches[1:]:
                xs = xs + b(x)  # out of place: autograd needs each branch's output
            x = xs / self.num_kernels
        x = self.conv_post(F.leaky_relu(x))  # default slope 0.01 here, as the public model
        half = self.n_fft // 2 + 1
        wave = self._istft(x[:, :half], x[:, half:])
        return wave.clamp(-cfg.audio_limit, cfg.audio_limit)

    def inference(self, mel: torch.Tensor, cache_source: torch.Tensor | None = None, phase: torch.Tensor | None = None,
                  noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """mel (B, n_mels, T) -> (wave (B, T * hop), source (B, 1, T * hop)).

        ``cache_source`` (B, 1, n): the previous block's last source samples, written over the start of this
        block's source so the sine's phase runs on across streamed blocks instead of jumping.
        """
        source = self.source(self.f0_predictor(mel), phase, noise)
        if cache_source is not None and cache_source.shape[-1]:
            source[..., :cache_source.shape[-1]] = cache_source
        return self.decode(mel, source), source

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.inference(mel)[0].unsqueeze(1)

    def remove_weight_norm(self) -> "HiFTGenerator":
        """Fold weight norm into plain weights for inference; outputs are unchanged."""
        fold_weight_norm(self)
        self.has_weight_norm = False
        return self
