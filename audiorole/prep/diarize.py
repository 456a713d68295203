"""Step 2: speaker diarization, one RTTM per episode.

The backend (``audiorole.diarization``: the offline pyannote pipeline or the
real pretrained one) is chosen by config.
"""

from pathlib import Path

import soundfile as sf

from audiorole.diarization.rttm import write_rttm
from audiorole.prep.context import EpisodeContext


class Diarize:
    name = "diarize"
    reads = ()  # no series-level input (registry, enrollment clips, subtitles)

    def __init__(self, backend):
        self.backend = backend

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        wave, sr = sf.read(ctx.results["standardise"]["audio"], dtype="float32")
        annotation = self.backend(wave, sr, uri=ctx.episode.id)
        path = out / f"{ctx.episode.id}.rttm"
        write_rttm(annotation, path, uri=ctx.episode.id)
        return {"rttm": str(path), "speakers": len(annotation.labels()), "backend": getattr(self.backend, "name", type(self.backend).__name__)}
