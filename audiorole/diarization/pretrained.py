"""The real backend: an official pyannote diarization pipeline, by hub id or local directory.

``pyannote/speaker-diarization-community-1`` or ``pyannote/speaker-diarization-3.1``
are gated on Hugging Face: the token is read from the environment variable
named by ``token_env`` (never from config, never logged). A local directory
holding a pipeline ``config.yaml`` needs no token (air-gapped clusters).
"""

import os
from pathlib import Path

import numpy as np

from audiorole.diarization.errors import DiarizationError
from audiorole.diarization.labels import drop_short_turns, relabel_by_first_turn

SAMPLE_RATE = 16000


def _looks_local(source: str) -> bool:
    # Hub ids are exactly "org/name"; anything else path-like is a directory.
    return Path(source).expanduser().exists() or source.startswith(("/", ".", "~")) or source.count("/") != 1


class PretrainedDiarizer:
    """``diarizer(waveform, sample_rate, uri) -> Annotation`` (labels ``SPK_00…``) via pyannote.audio."""

    def __init__(
        self,
        source: str = "pyannote/speaker-diarization-community-1",
        token_env: str = "HF_TOKEN",
        device: str = "cpu",
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        min_segment_duration: float = 0.0,
        params: dict | None = None,  # optional pipeline.instantiate() overrides
    ):
        self.source = str(source)
        self.token_env = token_env
        self.device = str(device)
        self.num_speakers, self.min_speakers, self.max_speakers = num_speakers, min_speakers, max_speakers
        self.min_segment_duration = float(min_segment_duration)
        self.params = dict(params) if params else None
        self.name = f"pyannote:{self.source}"
        self._pipeline = None

    def _resolve(self) -> tuple[str, str | None]:
        if _looks_local(self.source):
            path = Path(self.source).expanduser()
            if not path.is_dir() and not path.is_file():
                raise DiarizationError(
                    f"{path}: pipeline directory not found; set diarization.source to a directory with a "
                    "pyannote config.yaml or to a hub id such as pyannote/speaker-diarization-community-1"
                )
            if path.is_dir() and not (path / "config.yaml").is_file():
                raise DiarizationError(f"{path}: no config.yaml in this pipeline directory; point diarization.source at the folder that holds it")
            return str(path), None
        token = os.environ.get(self.token_env)
        if not token:
            raise DiarizationError(
                f"{self.source} is gated on Hugging Face: set the {self.token_env} environment variable to a token "
                "that accepted its conditions, or set diarization.source to a local pipeline directory"
            )
        return self.source, token

    @property
    def pipeline(self):
        if self._pipeline is None:
            source, token = self._resolve()
            os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
            import torch
            from pyannote.audio import Pipeline

            try:
                pipeline = Pipeline.from_pretrained(source, token=token)
            except Exception as e:  # hub/network/format problems; the token is never part of the message
                reason = str(e).replace(token, "***") if token else str(e)
                raise DiarizationError(
                    f"{self.source}: cannot load pyannote pipeline ({type(e).__name__}: {reason.splitlines()[0][:200] if reason else ''}); "
                    "check the id or directory, network access and HF token"
                ) from None
            if pipeline is None:
                raise DiarizationError(f"{self.source}: pyannote returned no pipeline; check the id and the token's access")
            if self.params:
                pipeline.instantiate(self.params)
            self._pipeline = pipeline.to(torch.device(self.device))
        return self._pipeline

    def __call__(self, waveform: np.ndarray, sample_rate: int, uri: str):
        import torch
        from pyannote.core import Annotation

        wave = np.asarray(waveform, dtype=np.float32)
        if wave.ndim == 2:
            wave = wave.mean(axis=0)
        if wave.size < 0.5 * sample_rate or not np.any(wave):
            return Annotation(uri=uri)
        file = {"waveform": torch.from_numpy(wave)[None], "sample_rate": int(sample_rate), "uri": uri}
        output = self.pipeline(file, num_speakers=self.num_speakers, min_speakers=self.min_speakers,
                               max_speakers=self.max_speakers)
        annotation = drop_short_turns(getattr(output, "speaker_diarization", output), self.min_segment_duration)
        annotation.uri = uri
        return relabel_by_first_turn(annotation)
