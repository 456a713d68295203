"""Truth as diarization: the ceiling the rest of the pipeline reaches when diarization is perfect.

    python -m audiorole.prepare data=series ... data/prep/diarize=oracle data.prep.diarize.backend.truth_dir=DIR

Reads ``<truth_dir>/<uri>.rttm`` and hides who is who (labels become
``SPK_00…`` in order of first speech), so attribution still has to name every
voice from subtitles and voiceprints. Only for measurement: a dataset prepared
this way says what diarization errors cost downstream, never how good it is.
"""

from pathlib import Path

from audiorole.diarization.errors import DiarizationError
from audiorole.diarization.labels import relabel_by_first_turn
from audiorole.diarization.rttm import read_rttm


class OracleDiarizer:
    name = "oracle-truth-rttm"

    def __init__(self, truth_dir: str):
        self.truth_dir = Path(truth_dir)

    def __call__(self, waveform, sample_rate: int, uri: str):
        path = self.truth_dir / f"{uri}.rttm"
        if not path.is_file():
            raise DiarizationError(f"{path}: no truth RTTM for episode {uri}; point truth_dir at the series' truth folder")
        annotation = read_rttm(path, uri)
        annotation.uri = uri
        return relabel_by_first_turn(annotation)
