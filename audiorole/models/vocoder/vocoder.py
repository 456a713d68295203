"""``Vocoder``: a generator (HiFi-GAN or HiFT) with its mel definition, saved as one artifact.

An artifact is a folder: ``generator.pt`` (state dict) and ``vocoder.json``
(generator family and config, mel config, whether weight norm is still on).
The JSON is written last, so a folder with it is complete. Training uses
``.generator`` directly; calling the ``Vocoder`` is inference only.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import torch

from audiorole.errors import ConfigError
from audiorole.utils.atomic import atomic_path, write_json
from audiorole.utils.hub import looks_local
from audiorole.utils.weights import user_pinned

from .generator import Generator, GeneratorConfig, resolve_config
from .hift import HiFTConfig, HiFTGenerator, resolve_hift_config
from .hift_checkpoint import is_hift_state, load_hift, load_hift_state, read_hift_state, resolve_hift_path
from .mel import MelConfig
from .public_checkpoint import (
    has_weight_norm,
    infer_config,
    read_generator_state,
    read_public_config,
    to_parametrized_names,
)

# family -> (generator class, config class, config resolver: preset name / dict / config -> config)
FAMILIES = {
    "hifigan": (Generator, GeneratorConfig, resolve_config),
    "hift": (HiFTGenerator, HiFTConfig, resolve_hift_config),
}

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

    def __init__(self, generator: Generator | HiFTGenerator, mel_config: MelConfig | None = None):
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

    @property
    def family(self) -> str:
        return next(name for name, (gen_cls, _, _) in FAMILIES.items() if isinstance(self.generator, gen_cls))

    @classmethod
    def from_config(
        cls, config: GeneratorConfig | HiFTConfig | dict | str = "tiny", mel: MelConfig | dict | None = None,
        family: str = "hifigan", init_from: str | Path | None = None,
    ) -> "Vocoder":
        """A trainable vocoder; ``config`` is a preset name or fields of ``family``'s generator.

        Presets: HiFi-GAN ``tiny``, ``v1``, ``v3``; HiFT ``tiny``, ``glm4voice`` (the published size).
        ``init_from`` (HiFT): a GLM-4-Voice decoder folder or ``hift.pt`` whose weights start the
        training, loaded strictly into ``config``'s shape; None: random initialisation.
        """
        if family not in FAMILIES:
            raise ConfigError(f"unknown vocoder family {family!r}; choose one of {sorted(FAMILIES)}")
        gen_cls, _, resolve = FAMILIES[family]
        generator = gen_cls(resolve(config))
        if init_from is not None:
            if family != "hift":
                raise ConfigError(f"init_from={init_from}: starting from public weights is supported for HiFT only")
            path = resolve_hift_path(init_from)
            weights = path / "hift.pt" if path.is_dir() else path
            load_hift_state(generator, read_hift_state(weights), weights)
        mel_cfg = MelConfig(**mel) if isinstance(mel, dict) else mel
        return cls(generator, mel_cfg)

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

    @torch.inference_mode()
    def inference(self, mel: torch.Tensor, cache_source: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """mel (B, n_mels, T) -> (wave (B, T * hop), HiFT's excitation (B, 1, T * hop), else None).

        ``cache_source``: the previous block's last excitation samples (HiFT only), for streaming.
        """
        p = next(self.generator.parameters())
        mel = mel.to(device=p.device, dtype=p.dtype)
        if isinstance(self.generator, HiFTGenerator):
            return self.generator.inference(mel, cache_source)
        return self.generator(mel).squeeze(1), None

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
                "family": self.family,
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
        family = meta.get("family", "hifigan")  # artifacts from before HiFT carry no family
        if family not in FAMILIES:
            raise ConfigError(f"{meta_path}: unknown vocoder family {family!r}")
        gen_cls, cfg_cls, _ = FAMILIES[family]
        generator = gen_cls(cfg_cls.from_dict(meta["generator"]))
        if not meta["weight_norm"]:
            generator.remove_weight_norm()
        state = torch.load(path / WEIGHTS_FILE, map_location=map_location, weights_only=True)
        generator.load_state_dict(state)
        return cls(generator, MelConfig(**meta["mel"])).to(map_location)

    @classmethod
    def from_path(cls, path: str | Path, map_location: str | torch.device = "cpu") -> "Vocoder":
        """For inference: an audiorole artifact (``vocoder.json``) or a public checkpoint (see ``load_pretrained``)."""
        path = Path(path)
        if (path / CONFIG_FILE).is_file():
            return cls.load(path, map_location=map_location).for_inference()
        if not path.exists() and looks_local(str(path)):
            raise ConfigError(f"{path}: no such vocoder; give a vocoder artifact folder, a GLM-4-Voice decoder "
                              f"folder (hift.pt) or its hub id, or a HiFi-GAN generator file")
        return cls.load_pretrained(path).to(map_location)

    @classmethod
    def load_pretrained(
        cls, path: str | Path, config: GeneratorConfig | HiFTConfig | dict | str | None = None,
        for_inference: bool = True, sha256: str | None = None,
    ) -> "Vocoder":
        """Load a public checkpoint: GLM-4-Voice's HiFT or a HiFi-GAN generator.

        HiFT: a decoder folder holding ``hift.pt`` (shape from its ``config.yaml``,
        read without running it, else the published defaults), its hub id, or the
        ``hift.pt`` itself; its mel is the acoustic stage's. HiFi-GAN: ``{"generator":
        state_dict}``, shape from ``config``, else ``config.json`` beside the
        checkpoint, else the tensor shapes; a ``config.json`` whose mel settings
        differ from ours is honoured (and warned about). ``sha256``: the pin of the weight file
        (``hift.pt`` or the generator file; a different file is refused, with none its digest is logged).
        """
        path = resolve_hift_path(path)  # a hub id: its hift.pt
        weights = path / "hift.pt" if path.is_dir() else path
        if weights.is_file():
            user_pinned(weights, sha256, "model.vocoder.sha256")
        if _is_hift(Path(path)):
            vocoder = cls(load_hift(path, config))
            return vocoder.for_inference() if for_inference else vocoder
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


def _is_hift(path: Path) -> bool:
    if path.is_dir():
        return (path / "hift.pt").is_file()
    if path.name == "hift.pt":
        return True
    if not path.is_file():
        return False
    # mmap where the format allows (only key names are needed); legacy (non-zip) files load whole
    state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    return isinstance(state, dict) and is_hift_state(state.get("generator", state))
