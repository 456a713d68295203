"""The "base" baseline: the decoder architecture with random weights, seeded.

Whatever AP this scores comes from the tokens and the vocoder alone, not from training, so
a trained decoder's AP is read against it (the paper's base-model row).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from audiorole.errors import AudioroleError

from .acoustic_decoder import AcousticDecoder
from .loading import decoder_config, load_vocoder


def _plain_config(config) -> dict:
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else dict(config)


class UntrainedDecoder(AcousticDecoder):
    """``like``: a decoder (dir or .ckpt; a mapping takes its first) whose architecture to copy;
    else ``config``: FlowDecoder arguments (e.g. ``${model.decoder}``). ``init_seed`` fixes the
    random weights. ``vocoder``: a vocoder dir, else the one exported beside ``like`` (so the
    trained and untrained rows differ only in the decoder), else Griffin-Lim.
    """

    def __init__(self, like: str | Path | Mapping | None = None, config: Mapping | None = None,
                 vocoder: str | Path | None = None, name: str = "untrained", init_seed: int = 0,
                 n_steps: int = 10, guidance: float | None = None, seed: int = 0, device: str = "cpu"):
        if isinstance(like, Mapping):
            like = next(iter(like.values()), None)
        if like is None and config is None:
            raise AudioroleError(f"system '{name}': needs the architecture to initialise; pass decoder=<dir|ckpt> "
                                 "or set its config (e.g. systems.untrained.config=${model.decoder})")
        self.like = None if like is None else str(like)
        self.config = decoder_config(like) if like is not None else _plain_config(config)
        self.init_seed = int(init_seed)
        super().__init__(source=f"untrained:{self.init_seed}", vocoder=vocoder, name=name, n_steps=n_steps,
                         guidance=guidance, seed=seed, device=device)

    def _load(self, source: str) -> tuple:
        if source not in self._loaded:
            import torch

            from audiorole.models.flow.decoder import FlowDecoder

            with torch.random.fork_rng(devices=[]):  # the same weights every time, global RNG untouched
                torch.manual_seed(self.init_seed)
                decoder = FlowDecoder.from_config(self.config).to(self.device).eval()
            vocoder, label = load_vocoder(self.vocoder_path, self.like, self.device)
            self._loaded[source] = (decoder, vocoder, label)
        return self._loaded[source]

    def describe(self) -> dict:
        return dict(super().describe(), decoder=None, like=self.like, init_seed=self.init_seed,
                    parameters=sum(p.numel() for p in self._load(self.source)[0].parameters()))
