"""Diarize an audio file on disk and write its RTTM (the pipeline step's unit of work)."""

from pathlib import Path

from audiorole.audio.decode import load_audio
from audiorole.diarization.rttm import write_rttm


def diarize_file(backend, audio_path: str | Path, rttm_path: str | Path | None = None, uri: str | None = None):
    audio_path = Path(audio_path)
    uri = uri or audio_path.stem
    annotation = backend(load_audio(audio_path, sample_rate=16000), 16000, uri)
    if rttm_path is not None:
        write_rttm(annotation, rttm_path, uri=uri)
    return annotation
