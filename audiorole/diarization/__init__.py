"""Speaker diarization backends: ``backend(waveform, sample_rate, uri) -> pyannote.core.Annotation``.

- ``OfflineDiarizer`` (offline default): pyannote's pipeline with the
  segmentation checkpoint shipped in whisperx, Resemblyzer embeddings and our
  own clustering; runs with no hub access.
- ``PretrainedDiarizer``: an official pyannote pipeline by hub id or local dir.

Importing this package is cheap; torch and pyannote load when a backend runs.
"""

from audiorole.utils.lazy import lazy_getattr

from audiorole.utils.lazy import lazy_getattr

_EXPORTS = {
    "OfflineDiarizer": "audiorole.diarization.offline",
    "PretrainedDiarizer": "audiorole.diarization.pretrained",
    "DiarizationError": "audiorole.diarization.errors",
    "read_rttm": "audiorole.diarization.rttm",
    "write_rttm": "audiorole.diarization.rttm",
    "diarization_error_rate": "audiorole.diarization.der",
    "diarize_file": "audiorole.diarization.io",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
