"""``Vocoder``: a HiFi-GAN generator with its mel definition, saved as one artifact.

An artifact is a folder: ``generator.pt`` (state dict) and ``vocoder.json``
(generator config, mel config, whether weight norm is still on). The JSON is
written last, so a folder with it is complete. Training uses ``.generator``
directly; calling the ``Vocoder`` is inference only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from audiorole.errors import ConfigError
from audiorole.utils.atomic import atomic_path, write_json

from .generator import Generator, GeneratorConfig, resolve_config
from .mel import MelConfig
from .public_checkpoint import (
    has_weight_norm,
    infer_config,
    read_generator_state,
    read_public_config,
    to_parametrized_names,
)

ARTIFACT_FORMAT = "audiorole-vocoder"
ARTIFACT_VERSION = 1
CONFIG_FILE = "vocoder.json"
WEIGHTS_FILE = "generator.pt"

# Public HiFi-GAN config.json key -> our MelConfig field.
_PUBLIC_MEL_KEYS = {
    "sampling_rate": "sample_rate",
    "n_fft": "n_fft",
    "hop_size": "hop_length",
    "win_size": "win_length",
    "num_mels": "n_mels",
    "fmin": "fmin",
    "fmax": "fmax",
}


def mel_batch(mel: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(n_mels, T)`` or ``(B, n_mels, T)`` -> batched, and whether it was unbatched."""
    if mel.dim() == 2:
        return mel.unsqueeze(0), True
    if mel.dim() == 3:
        return mel, False
    raise ValueError(f"mel must be (n_mels, frames) or (batch, n_mels, frames), got {tuple(mel.shape)}")


class Vocoder(torch.nn.Module):
    """Log-mel ``(n_mels, T)`` / ``(B, n_mels, T)`` -> wave ``(T * hop,)`` / ``(B, T * hop)``."""

    def __init__(self, generator: Generator, mel_config: MelConfig | None = None):
        super().__init__()
        self.generator = generator
        self.mel_config = mel_config or MelConfig()
        if self.mel_config.hop_length != generator.hop_length:
            raise ConfigError(
                f"vocoder upsamples by {generator.hop_length} but the mel hop is {self.mel_config.hop_length}"
            )
        if self.mel_config.n_mels != generator.config.num_mels:
            raise ConfigError(
                f"vocoder expects {generator.config.num_mels} mels, mel config has {self.mel_config.n_mels}"
            )

    @property
    def sample_rate(self) -> int:
        return self.mel_config.sample_rate

    @property
    def hop_length(self) -> int:
        return self.generator.hop_length

    @classmethod
    def from_config(
        cls, config: GeneratorConfig | dict | str = "tiny", mel: MelConfig | dict | None = None
    ) -> "Vocoder":
        """A freshly initialised vocoder; ``config`` is a preset name (``tiny``, ``v1``, ``v3``) or fields."""
        mel_cfg = MelConfig(**mel) if isinstance(mel, dict) else mel
        return cls(Generator(resolve_config(config)), mel_cfg)

    def for_inference(self) -> "Vocoder":
        """Eval mode with weight norm folded: the same outputs, less work per call."""
        if self.generator.has_weight_norm:
            self.generator.remove_weight_norm()
        return self.eval()

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x, unbatched = mel_batch(mel)
        p = next(self.generator.parameters())
        wave = self.generator(x.to(device=p.device, dtype=p.dtype)).squeeze(1)
        return wave[0] if unbatched else wave

    # --- artifact -----------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / WEIGHTS_FILE) as tmp:
            torch.save({k: v.detach().cpu() for k, v in self.generator.state_dict().items()}, tmp)
        write_json(
            path / CONFIG_FILE,
            {
                "format": ARTIFACT_FORMAT,
                "version": ARTIFACT_VERSION,
                "generator": self.generator.config.to_dict(),
                "mel": self.mel_config.to_dict(),
                "weight_norm": self.generator.has_weight_norm,
            },
        )
        return path

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> "Vocoder":
        path = Path(path)
        meta_path = path / CONFIG_FILE
        if not meta_path.is_file():
            raise ConfigError(f"{path}: not a vocoder artifact (no {CONFIG_FILE}); save one with Vocoder.save")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != ARTIFACT_FORMAT or meta.get("version") != ARTIFACT_VERSION:
            raise ConfigError(f"{meta_path}: format {meta.get('format')!r} v{meta.get('version')} is not ours")
        generator = Generator(GeneratorConfig.from_dict(meta["generator"]))
        if not meta["weight_norm"]:
            generator.remove_weight_norm()
        state = torch.load(path / WEIGHTS_FILE, map_location=map_location, weights_only=True)
        generator.load_state_dict(state)
        return cls(generator, MelConfig(**meta["mel"])).to(map_location)

    @classmethod
    def load_pretrained(
        cls, path: str | Path, config: GeneratorConfig | dict | str | None = None, for_inference: bool = True
    ) -> "Vocoder":
        """Load a public-layout HiFi-GAN generator checkpoint (``{"generator": state_dict}``).

        The generator's shape comes from ``config``, else ``config.json`` beside
        the checkpoint, else the tensor shapes. A ``config.json`` whose mel
        settings differ from ours is honoured (and warned about): mels from our
        ``LogMel`` would not suit that checkpoint.
        """
        state = to_parametrized_names(read_generator_state(path))
        public = read_public_config(path)
        if public is not None and "upsample_rates" not in public:
            public = None  # some other tool's config.json, not HiFi-GAN's
        if config is not None:
            gen_cfg = resolve_config(config)
        elif public is not None:
            gen_cfg = GeneratorConfig.from_dict(public)
        else:
            gen_cfg = infer_config(state)
        mel_cfg = MelConfig()
        if public is not None:
            theirs = {ours: public[k] for k, ours in _PUBLIC_MEL_KEYS.items() if public.get(k) is not None}
            mel_cfg = MelConfig(**{**mel_cfg.to_dict(), **theirs})
            if mel_cfg != MelConfig():
                warnings.warn(f"{path}: its mel settings differ from the acoustic stage's: {mel_cfg}", stacklevel=2)
        generator = Generator(gen_cfg)
        if not has_weight_norm(state):  # checkpoint saved with weight norm already folded
            generator.remove_weight_norm()
        try:
            missing, unexpected = generator.load_state_dict(state, strict=False)
        except RuntimeError as e:  # tensor shapes differ
            raise ConfigError(f"{path}: checkpoint does not fit generator {gen_cfg}: {str(e).splitlines()[-1]}") from e
        if missing or unexpected:
            raise ConfigError(
                f"{path}: checkpoint does not fit generator {gen_cfg}: "
                f"missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
        vocoder = cls(generator, mel_cfg)
        return vocoder.for_inference() if for_inference else vocoder
