"""AQ by UTMOS (or any MOS predictor) from a local file: a TorchScript export, or a state dict for a module.

``path`` is a TorchScript file, or, with ``module`` (a ``_target_``-built
``nn.Module`` such as SpeechMOS's ``UTMOS22Strong``), a checkpoint holding its
state dict. ``forward`` maps a (1, T) waveform at ``sample_rate`` to a (1,)
score; ``pass_sample_rate`` also passes the rate for models whose forward is
``(wave, sr)``.
"""

from pathlib import Path

import numpy as np

from audiorole.errors import ConfigError
from audiorole.eval.audio import resample


class UTMOSQuality:
    scale = (1.0, 5.0)

    def __init__(self, path: str, module=None, sample_rate: int = 16000, device: str = "cpu",
                 min_seconds: float = 0.5, pass_sample_rate: bool = False):
        self.path = str(path)
        self.module = module
        self.sample_rate = int(sample_rate)
        self.device = str(device)
        self.min_seconds = float(min_seconds)
        self.pass_sample_rate = bool(pass_sample_rate)
        self.name = "utmos"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import torch

            path = Path(self.path).expanduser()
            if not path.is_file():
                raise ConfigError(f"{path}: UTMOS weights not found; set eval.quality.path to a local TorchScript "
                                  "or checkpoint file, or use the offline default (dnsmos)")
            try:
                if self.module is None:
                    model = torch.jit.load(str(path), map_location=self.device)
                else:
                    state = torch.load(str(path), map_location=self.device, weights_only=True)
                    self.module.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
                    model = self.module.to(self.device)
            except Exception as e:
                kind = "TorchScript file" if self.module is None else f"state dict for {type(self.module).__name__}"
                raise ConfigError(f"{path}: cannot load as a {kind} ({type(e).__name__}: "
                                  f"{str(e).splitlines()[0][:160] if str(e) else ''})") from None
            self._model = model.eval()
        return self._model

    def score_many(self, waves, sample_rate: int) -> list[float]:
        import torch

        scores = []
        with torch.inference_mode():
            for wave in waves:
                wave = resample(wave, sample_rate, self.sample_rate)
                if wave.size < self.min_seconds * self.sample_rate or not np.isfinite(wave).all():
                    scores.append(float("nan"))
                    continue
                x = torch.from_numpy(wave)[None].to(self.device)
                out = self.model(x, self.sample_rate) if self.pass_sample_rate else self.model(x)
                scores.append(float(out.reshape(-1)[0]))
        return scores
