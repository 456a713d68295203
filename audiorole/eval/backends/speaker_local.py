"""Any speaker-verification model from a local file, for AP on real runs (docs/design.md §6).

- ``PyannoteSpeakerEmbedder``: a pyannote.audio embedding checkpoint (pyannote's
  own, or a WeSpeaker/SpeechBrain model pyannote wraps) loaded with
  ``Model.from_pretrained(path)`` and run with ``Inference(window="whole")``.
- ``TorchScriptSpeakerEmbedder``: a TorchScript file whose ``forward`` maps a
  (1, T) waveform to a (1, D) or (D,) embedding.

Both load on first use, name the missing file and the fix when it is absent,
and return L2-normalised rows like the offline embedder.
"""

from pathlib import Path

import numpy as np

from audiorole.errors import ConfigError
from audiorole.eval.audio import mono_float32
from audiorole.speakers import SpeakerClipError


def _local_file(path: str | Path, what: str) -> Path:
    path = Path(str(path)).expanduser()
    if not path.exists():
        raise ConfigError(f"{path}: {what} not found; set eval.speaker_embedder.path to a local checkpoint "
                          "(download it once on a networked machine) or use the offline default (resemblyzer)")
    return path


def _normalised(rows: list[np.ndarray], dimension_hint: str) -> np.ndarray:
    out = np.stack([np.asarray(r, dtype=np.float32).reshape(-1) for r in rows])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if not np.all(np.isfinite(out)) or np.any(norms == 0):
        raise SpeakerClipError(f"{dimension_hint}: the model returned a NaN or zero embedding (clip too short?)")
    return out / norms


def _check_clip(wave, i: int, sample_rate: int, min_seconds: float) -> np.ndarray:
    wave = mono_float32(wave, f"clip {i}")
    if wave.size < min_seconds * sample_rate:
        raise SpeakerClipError(f"clip {i}: {wave.size / sample_rate:.2f} s is shorter than the {min_seconds:g} s "
                               "a speaker embedding needs; use a longer clip")
    return wave


class PyannoteSpeakerEmbedder:
    def __init__(self, path: str, sample_rate: int = 16000, device: str = "cpu", min_seconds: float = 0.5):
        self.path = str(path)
        self.sample_rate = int(sample_rate)
        self.device = str(device)
        self.min_seconds = float(min_seconds)
        self.name = f"pyannote:{Path(self.path).name}"
        self._inference = None

    @property
    def inference(self):
        if self._inference is None:
            import os

            path = _local_file(self.path, "speaker embedding checkpoint")  # before the (slow) pyannote import
            os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
            import torch
            from pyannote.audio import Inference, Model

            try:
                model = Model.from_pretrained(str(path))
            except Exception as e:
                raise ConfigError(f"{path}: cannot load as a pyannote model ({type(e).__name__}: "
                                  f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
            if model is None:
                raise ConfigError(f"{path}: pyannote returned no model; check the checkpoint")
            self._inference = Inference(model, window="whole", device=torch.device(self.device))
        return self._inference

    def embed_many(self, waves: list[np.ndarray]) -> np.ndarray:
        import torch

        rows = []
        for i, wave in enumerate(waves):
            wave = _check_clip(wave, i, self.sample_rate, self.min_seconds)
            rows.append(self.inference({"waveform": torch.from_numpy(wave)[None], "sample_rate": self.sample_rate}))
        if not rows:
            return np.zeros((0, 0), np.float32)
        return _normalised(rows, self.name)

    def embed(self, wave: np.ndarray) -> np.ndarray:
        return self.embed_many([wave])[0]


class TorchScriptSpeakerEmbedder:
    def __init__(self, path: str, sample_rate: int = 16000, device: str = "cpu", min_seconds: float = 0.5):
        self.path = str(path)
        self.sample_rate = int(sample_rate)
        self.device = str(device)
        self.min_seconds = float(min_seconds)
        self.name = f"torchscript:{Path(self.path).name}"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            import torch

            path = _local_file(self.path, "TorchScript speaker model")
            try:
                self._model = torch.jit.load(str(path), map_location=self.device).eval()
            except Exception as e:
                raise ConfigError(f"{path}: not a TorchScript file ({type(e).__name__}); export the model with "
                                  "torch.jit.script/trace and save it") from None
        return self._model

    def embed_many(self, waves: list[np.ndarray]) -> np.ndarray:
        import torch

        rows = []
        with torch.inference_mode():
            for i, wave in enumerate(waves):
                wave = _check_clip(wave, i, self.sample_rate, self.min_seconds)
                rows.append(self.model(torch.from_numpy(wave)[None].to(self.device)).float().cpu().numpy())
        if not rows:
            return np.zeros((0, 0), np.float32)
        return _normalised(rows, self.name)

    def embed(self, wave: np.ndarray) -> np.ndarray:
        return self.embed_many([wave])[0]
