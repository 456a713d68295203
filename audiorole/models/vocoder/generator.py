"""HiFi-GAN generator: 80-bin log-mel -> waveform at hop 256 (docs/design.md §3).

Module and parameter names follow the public HiFi-GAN layout (``conv_pre``,
``ups.N``, ``resblocks.N.convs1.M``, ``conv_post``) so public generator
checkpoints load after renaming only the weight-norm tensors (see
``public_checkpoint.py``). The forward pass also matches the public one,
activation slopes included, or those weights would sound wrong.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class GeneratorConfig:
    """Field names are HiFi-GAN's ``config.json`` keys, so a public config reads as is."""

    num_mels: int = 80
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(
        default_factory=lambda: ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    )

    def __post_init__(self):
        # Normalise lists (from JSON/YAML) to tuples so configs compare and hash.
        for name in ("upsample_rates", "upsample_kernel_sizes", "resblock_kernel_sizes"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        object.__setattr__(
            self, "resblock_dilation_sizes", tuple(tuple(int(v) for v in d) for d in self.resblock_dilation_sizes)
        )
        object.__setattr__(self, "resblock", str(self.resblock))
        if self.resblock not in ("1", "2"):
            raise ValueError(f"resblock must be '1' or '2', got {self.resblock!r}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("upsample_rates and upsample_kernel_sizes differ in length")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError("resblock_kernel_sizes and resblock_dilation_sizes differ in length")
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if (k - u) % 2:
                raise ValueError(f"upsample kernel {k} and rate {u}: k - u must be even for exact length")

    @property
    def hop_length(self) -> int:
        return math.prod(self.upsample_rates)

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        """Read our artifact's or a public HiFi-GAN ``config.json``; other keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        """JSON-ready: tuples become lists."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = [list(x) if isinstance(x, tuple) else x for x in v]
        return d


PRESETS: dict[str, GeneratorConfig] = {
    # CPU demo: ~0.25 M params; same topology as v1, an eighth of the width.
    "tiny": GeneratorConfig(upsample_initial_channel=64),
    # Paper scale: the public HiFi-GAN V1 (~13.9 M params).
    "v1": GeneratorConfig(),
    # Public HiFi-GAN V3 (~1.5 M params): the small public variant.
    "v3": GeneratorConfig(
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        upsample_initial_channel=256,
        resblock="2",
        resblock_kernel_sizes=(3, 5, 7),
        resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
    ),
}


def resolve_preset(config, presets: dict, config_cls: type):
    """A config instance as is, a preset by name, or a config from a dict of fields."""
    if isinstance(config, config_cls):
        return config
    if isinstance(config, str):
        if config not in presets:
            raise ValueError(f"unknown {config_cls.__name__} preset {config!r}; choose one of {sorted(presets)}")
        return presets[config]
    return config_cls.from_dict(dict(config))


def resolve_config(config: GeneratorConfig | dict | str) -> GeneratorConfig:
    return resolve_preset(config, PRESETS, GeneratorConfig)


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


def _conv(conv: nn.Module, init: bool = True) -> nn.Module:
    # HiFi-GAN's N(0, 0.01) init, applied before weight norm so g and v derive from it.
    if init:
        nn.init.normal_(conv.weight, 0.0, 0.01)
    return weight_norm(conv)


class ResBlock1(nn.Module):
    """MRF branch, type 1: (dilated conv, conv) pairs with residuals."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(
            _conv(nn.Conv1d(channels, channels, kernel, dilation=d, padding=_padding(kernel, d))) for d in dilations
        )
        self.convs2 = nn.ModuleList(
            _conv(nn.Conv1d(channels, channels, kernel, padding=_padding(kernel))) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """MRF branch, type 2 (HiFi-GAN V3): single dilated convs with residuals."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(
            _conv(nn.Conv1d(channels, channels, kernel, dilation=d, padding=_padding(kernel, d))) for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in self.convs:
            x = x + c(F.leaky_relu(x, LRELU_SLOPE))
        return x


class Generator(nn.Module):
    """``(B, num_mels, frames)`` log-mel -> ``(B, 1, frames * hop_length)`` wave in [-1, 1]."""

    def __init__(self, config: GeneratorConfig | dict | str = "tiny"):
        super().__init__()
        self.config = cfg = resolve_config(config)
        self.num_kernels = len(cfg.resblock_kernel_sizes)
        ch = cfg.upsample_initial_channel
        # conv_pre keeps PyTorch's default init, as in the public code.
        self.conv_pre = _conv(nn.Conv1d(cfg.num_mels, ch, 7, padding=3), init=False)
        block = ResBlock1 if cfg.resblock == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
            c_in, c_out = ch // 2**i, ch // 2 ** (i + 1)
            # padding (k - u) / 2 makes each stage exactly u× longer.
            self.ups.append(_conv(nn.ConvTranspose1d(c_in, c_out, k, u, padding=(k - u) // 2)))
            for rk, rd in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes):
                self.resblocks.append(block(c_out, rk, rd))
        self.conv_post = _conv(nn.Conv1d(c_out, 1, 7, padding=3))
        self.has_weight_norm = True

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            # Multi-receptive-field fusion: average of the parallel branches.
            branches = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            x = sum(b(x) for b in branches) / self.num_kernels
        # Default slope (0.01) here, not 0.1: the public model does this too.
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x)

    def remove_weight_norm(self) -> "Generator":
        """Fold weight norm into plain weights for inference; outputs are unchanged."""
        fold_weight_norm(self)
        self.has_weight_norm = False
        return self


def fold_weight_norm(module: nn.Module) -> None:
    """Replace every weight-norm parametrization under ``module`` by its plain weight."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
